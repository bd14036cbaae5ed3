"""default_handling: Fill fields the user left unspecified with the contract's defaults (priority medium, filter
all, no due date) and invent nothing."""

import pytest

from scorers import score_case
from taskbench.records import failure_message

pytestmark = pytest.mark.default_handling


def test_default_handling(case, answer, record_score):
    score = score_case(case.to_record(), answer.text)
    record_score(score)
    if not score.passed:
        pytest.fail(failure_message(case, answer, score), pytrace=False)
