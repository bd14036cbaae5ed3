"""taskbench: a pytest-native evaluation suite for Task API assistants."""

__version__ = "0.1.0"
