"""evals/ conftest: registers the `fuzz` marker of the property-based fuzz tests (evals/test_fuzz.py)."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: property-based adversarial fuzzing against the model (docs/fuzzing.md)")
