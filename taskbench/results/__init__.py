"""Stage 4, the numbers: results.json built once, with its statistics, aggregates, analysis and sections."""
