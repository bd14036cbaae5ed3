"""format_compliance: Answer with exactly one JSON object that is valid against the Task API contract, with no
prose or code fence around it."""

import pytest

from taskbench import check_case

pytestmark = pytest.mark.format_compliance


def test_format_compliance(case, judge):
    check_case(judge(case))
