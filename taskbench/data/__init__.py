"""Stage 1, the data: cases and episodes read from fixtures/, the reference Task API, capability weights."""
