"""default_handling: Fill fields the user left unspecified with the contract's defaults (priority medium, filter
all, no due date) and invent nothing."""

import pytest

from taskbench import check_case

pytestmark = pytest.mark.default_handling


def test_default_handling(case, judge):
    check_case(judge(case))
