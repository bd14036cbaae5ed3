"""Top-level conftest: Hypothesis profiles shared by evals/ and tests/ (chosen with --hypothesis-profile).

Failing examples are saved to EXAMPLE_DATABASE (the project's .hypothesis/examples, wherever pytest is
started) and replayed first on the next run; `ci` keeps no database, so two ci runs are identical.
"""

from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

EXAMPLE_DATABASE = DirectoryBasedExampleDatabase(Path(__file__).resolve().parent / ".hypothesis" / "examples")

settings.register_profile("dev", max_examples=30, database=EXAMPLE_DATABASE)
settings.register_profile(
    "ci", max_examples=100, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("nightly", max_examples=2000, deadline=None, database=EXAMPLE_DATABASE)
