"""The gate: verdicts over a run's results, against thresholds and a baseline; `taskbench compare`."""
