"""action_recognition: Pick the right action (create, complete, list, delete, update, clarify) from what the user
says, explicitly or not."""

import pytest

from taskbench import check_case

pytestmark = pytest.mark.action_recognition


def test_action_recognition(case, judge):
    check_case(judge(case))
