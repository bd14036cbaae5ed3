"""entity_extraction: Pull the title, priority, due date and time, attendees and list filter out of natural
language, with dates resolved against the reference date."""

import pytest

from taskbench.records import check_answer

pytestmark = pytest.mark.entity_extraction


def test_entity_extraction(case, answer, record_score):
    check_answer(case, answer, record_score)
