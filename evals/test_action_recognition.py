"""action_recognition: Pick the right action (create, complete, list, delete, update, clarify) from what the user
says, explicitly or not."""

import pytest

from taskbench.records import check_answer

pytestmark = pytest.mark.action_recognition


def test_action_recognition(case, answer, record_score):
    check_answer(case, answer, record_score)
