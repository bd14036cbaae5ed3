"""format_compliance: Answer with exactly one JSON object that is valid against the Task API contract, with no
prose or code fence around it."""

import pytest

from scorers import score_case
from taskbench.records import failure_message

pytestmark = pytest.mark.format_compliance


def test_format_compliance(case, answer, record_score):
    score = score_case(case.to_record(), answer.text)
    record_score(score)
    if not score.passed:
        pytest.fail(failure_message(case, answer, score), pytrace=False)
