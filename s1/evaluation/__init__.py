"""Evaluation: benchmarks as data, answer extraction and grading, test-time-scaling metrics,
model sweeps and reports (`s1 evaluate`)."""
