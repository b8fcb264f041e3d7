"""Synthetic question pools (`s1 pool synth`)."""
