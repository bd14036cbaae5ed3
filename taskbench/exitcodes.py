"""The exit codes taskbench adds to pytest's (0-5), shared by taskbench's plugin and the gate's."""

from __future__ import annotations

# A score below its threshold, or a regression against the baseline (the gate only).
EXIT_QUALITY = 6
# The model server could not be reached or started; with a gate, also errored items or an incomplete run.
EXIT_INFRASTRUCTURE = 7
