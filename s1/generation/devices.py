"""The accelerators a generation engine may use."""

from __future__ import annotations


def visible_gpus() -> int:
    """GPUs this process may use (the default tensor-parallel size); 0 without CUDA."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0
