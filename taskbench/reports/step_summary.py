"""GitHub Actions' job summary: reports and the gate verdict are appended to it when it is set.

Its own module so that the gate can use it without importing the report renderers (pandas, matplotlib).
"""

from __future__ import annotations

import os

GITHUB_STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def append_to_step_summary(markdown: str) -> None:
    """Append `markdown` to the file $GITHUB_STEP_SUMMARY names, if it names one."""
    path = os.environ.get(GITHUB_STEP_SUMMARY)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
