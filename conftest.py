"""Top-level conftest: Hypothesis profiles shared by evals/ and tests/ (chosen with --hypothesis-profile)."""

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=30)
settings.register_profile(
    "ci", max_examples=100, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("nightly", max_examples=2000, deadline=None)
