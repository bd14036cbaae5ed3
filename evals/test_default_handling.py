"""default_handling: Fill fields the user left unspecified with the contract's defaults (priority medium, filter
all, no due date) and invent nothing."""

import pytest

from taskbench.records import check_answer

pytestmark = pytest.mark.default_handling


def test_default_handling(case, answer, record_score):
    check_answer(case, answer, record_score)
