"""action_recognition: Pick the right action (create, complete, list, delete, update, clarify) from what the user
says, explicitly or not."""

import pytest

from scorers import score_case
from taskbench.records import failure_message

pytestmark = pytest.mark.action_recognition


def test_action_recognition(case, answer, record_score):
    score = score_case(case.to_record(), answer.text)
    record_score(score)
    if not score.passed:
        pytest.fail(failure_message(case, answer, score), pytrace=False)
