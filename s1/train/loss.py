"""Chunked cross-entropy: the loss over the LM head without materialising full-vocabulary logits.

Qwen2.5's 152K vocabulary at 32K tokens is 20 GB of fp32 logits (and as much again for their
gradient). Here the final hidden states go through the LM head one chunk of tokens at a time,
and each chunk is recomputed in backward (activation checkpointing) instead of kept, so at most
one chunk's logits exist at any moment.

Under ZeRO-3 every LM-head call all-gathers its weight, a collective that every rank must enter
the same number of times; ranks therefore agree on one chunk count per micro-step (the largest),
and a rank with fewer targets runs empty chunks. The recompute in backward repeats the same calls.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from s1.format import IGNORE_INDEX


def _chunk_loss_sum(lm_head: nn.Module, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = lm_head(hidden).float()
    return nn.functional.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX, reduction="sum")


def num_target_tokens(shift_labels: torch.Tensor) -> int:
    return int((shift_labels != IGNORE_INDEX).sum())


def agreed_num_chunks(num_targets: int, chunk_size: int, device: torch.device) -> int:
    """The largest chunk count over all ranks (one small all-reduce); this rank's own outside one."""
    import torch.distributed as dist

    chunks = -(-num_targets // chunk_size)
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return chunks
    count = torch.tensor([chunks], dtype=torch.int64, device=device)
    dist.all_reduce(count, op=dist.ReduceOp.MAX)
    return int(count.item())


def chunked_cross_entropy_sum(
    hidden_states: torch.Tensor,
    lm_head: nn.Module,
    shift_labels: torch.Tensor,
    chunk_size: int,
    num_chunks: int | None = None,
) -> torch.Tensor:
    """Sum of token losses; ``shift_labels[..., t]`` is the target predicted at position t.

    Only positions with a target go through the head, so prompt tokens cost nothing either.
    ``num_chunks`` (at least the chunks the targets need) fixes how many head calls run; the
    ones past the last target are empty and add zero.
    """
    hidden = hidden_states.reshape(-1, hidden_states.shape[-1])
    targets = shift_labels.reshape(-1).to(hidden.device)
    keep = targets != IGNORE_INDEX
    hidden, targets = hidden[keep], targets[keep]
    needed = -(-targets.numel() // chunk_size)
    if num_chunks is None:
        num_chunks = needed
    elif num_chunks < needed:
        raise ValueError(f"num_chunks={num_chunks} cannot hold {targets.numel()} targets in chunks of {chunk_size}")
    # Zero through the graph (not a constant): a row without targets still joins backward.
    total = hidden_states.sum().float() * 0.0
    for start in range(0, num_chunks * chunk_size, chunk_size):
        stop = start + chunk_size
        if torch.is_grad_enabled():
            total = total + checkpoint(
                _chunk_loss_sum, lm_head, hidden[start:stop], targets[start:stop], use_reentrant=False
            )
        else:
            total = total + _chunk_loss_sum(lm_head, hidden[start:stop], targets[start:stop])
    return total
