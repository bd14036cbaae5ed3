"""entity_extraction: Pull the title, priority, due date and time, attendees and list filter out of natural
language, with dates resolved against the reference date."""

import pytest

from taskbench import check_case

pytestmark = pytest.mark.entity_extraction


def test_entity_extraction(case, judge):
    check_case(judge(case))
