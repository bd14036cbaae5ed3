"""Pure scoring functions: (case, output) -> Score. No I/O, no pytest, never raises."""

from scorers.capabilities import CAPABILITY_SCORERS, score_case
from scorers.fields import Verdict
from scorers.parse import Parsed, parse_answer
from scorers.types import FAILURE_THRESHOLD, PASS_THRESHOLD, Failure, Score

__all__ = [
    "CAPABILITY_SCORERS",
    "FAILURE_THRESHOLD",
    "PASS_THRESHOLD",
    "Failure",
    "Parsed",
    "Score",
    "Verdict",
    "parse_answer",
    "score_case",
]
