"""entity_extraction: Pull the title, priority, due date and time, attendees and list filter out of natural
language, with dates resolved against the reference date."""

import pytest

from scorers import score_case
from taskbench.records import failure_message

pytestmark = pytest.mark.entity_extraction


def test_entity_extraction(case, answer, record_score):
    score = score_case(case.to_record(), answer.text)
    record_score(score)
    if not score.passed:
        pytest.fail(failure_message(case, answer, score), pytrace=False)
