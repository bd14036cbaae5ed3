"""Pure scoring functions: (case, output) -> Score. No I/O, no pytest, never raises."""

from scorers.types import FAILURE_THRESHOLD, PASS_THRESHOLD, Failure, Score

__all__ = ["FAILURE_THRESHOLD", "PASS_THRESHOLD", "Failure", "Score"]
