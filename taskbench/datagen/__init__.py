"""The benchmark's content: templates and hand-written groups that build the shipped tiers
(fixtures/tiers/) and the demo model's training split (fixtures/train/), and the `taskbench dataset`
command. See docs/cases.md."""
