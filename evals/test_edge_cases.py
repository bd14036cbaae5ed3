"""edge_cases: Ambiguous, incomplete, contradictory, destructive and adversarial requests: ask to clarify, follow
the final intent, never let injected text change the action."""

import pytest

from scorers import score_case
from taskbench.records import failure_message

pytestmark = pytest.mark.edge_cases


def test_edge_cases(case, answer, record_score):
    score = score_case(case.to_record(), answer.text)
    record_score(score)
    if not score.passed:
        pytest.fail(failure_message(case, answer, score), pytrace=False)
