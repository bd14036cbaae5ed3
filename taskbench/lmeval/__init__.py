"""lm-evaluation-harness interop: export a tier as an lm_eval task, and import lm_eval's samples as a taskbench run.

`export` writes a task folder lm_eval runs unmodified; `metrics` holds the per-document metrics and aggregations
its utils.py calls (taskbench's own scorers); `importer` turns `--log_samples` output into taskbench's reports.
"""
