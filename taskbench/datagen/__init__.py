"""The benchmark's content: templates and hand-written groups that build the shipped tiers
(fixtures/tiers/) and the demo model's training split (fixtures/train/), and the `taskbench dataset`
command. See docs/cases.md."""

# The version of the shipped cases: raise it whenever regenerating changes what a case id means, so that
# baselines and comparisons of the old content are refused by name (taskbench.gate.baseline).
# 2: templates per capability and level, levels earned by difficulty, natural phrasing (issue 23).
DATASET_VERSION = 2
