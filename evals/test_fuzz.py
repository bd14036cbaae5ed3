"""Property-based adversarial fuzzing (docs/fuzzing.md): one test per perturbation family, answered by
the run's model through its client and response cache; outcomes go to results.json["fuzz"]."""

import pytest

from taskbench.fuzz.families import FAMILIES
from taskbench.fuzz.runner import fuzz_family

pytestmark = pytest.mark.fuzz


@pytest.mark.parametrize("family", FAMILIES, ids=[f.name for f in FAMILIES])
def test_fuzz(family, task_model, record_fuzz):
    fuzz_family(family, task_model, record_fuzz)
