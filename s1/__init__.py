"""s1: simple test-time scaling — curation, SFT, budget forcing and evaluation."""

__version__ = "0.1.0"
