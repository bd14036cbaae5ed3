"""Pure scoring functions: (case, output) -> Score. No I/O, no pytest, never raises."""

from taskbench.scorers.capabilities import CAPABILITY_SCORERS, score_case
from taskbench.scorers.fields import Verdict
from taskbench.scorers.parse import Parsed, parse_answer
from taskbench.scorers.types import FAILURE_THRESHOLD, PASS_THRESHOLD, Failure, Score

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
