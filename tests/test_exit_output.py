"""What a pytest process prints last: pytest's summary line, not extension modules' shutdown chatter."""

from __future__ import annotations

import pytest


def test_a_session_that_loads_triton_ends_on_the_summary_line(pytester: pytest.Pytester) -> None:
    # taskbench's plugin is active in every pytest process; `pytest tests/` imports the demo model's trainer,
    # which loads torch and triton, whose nanobind bindings report "leaked" objects that outlive the interpreter.
    pytester.makepyfile(
        """
        import taskbench.demo_model.train

        def test_nothing():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 0
    lines = [line for line in (result.stdout.lines + result.stderr.lines) if line.strip()]
    assert "1 passed" in lines[-1], "\n".join(lines[-10:])
    assert not any("nanobind" in line for line in lines)
