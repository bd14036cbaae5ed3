"""Property-based adversarial fuzzing: Hypothesis strategies that build Task API requests with their
expected answers, perturbation families, pure oracles, and promotion of found failures to cases."""
