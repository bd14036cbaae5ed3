"""Stage 5, the reports: renderers of results (summary.md, report.html, tables, terminal), and their process."""
