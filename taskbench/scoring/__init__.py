"""Stage 3, scoring: item records over the pure scorers (taskbench.scorers), episode judging, item bodies."""
