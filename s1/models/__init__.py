"""Local models that need no hub: a tiny random Qwen2 and SmolLM2-135M-Instruct from PyPI."""
