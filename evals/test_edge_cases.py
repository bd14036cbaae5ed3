"""edge_cases: Ambiguous, incomplete, contradictory, destructive and adversarial requests: ask to clarify, follow
the final intent, never let injected text change the action."""

import pytest

from taskbench import check_case

pytestmark = pytest.mark.edge_cases


def test_edge_cases(case, judge):
    check_case(judge(case))
