"""Generation fixtures: the tiny Qwen2 loaded once, and copies biased to end thinking early."""

from __future__ import annotations

import copy

import pytest
import torch

from s1.format import IM_END, IM_START


def with_end_bias(model, tokenizer, bias: float, tokens=(IM_START,)):
    """A copy of `model` whose logits for `tokens` get `+bias`: a real model that tries to end
    thinking (or open new blocks) more often, so waits and the delimiter are exercised."""
    biased = copy.deepcopy(model)
    head = biased.lm_head
    layer = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        layer.weight.copy_(head.weight)
        layer.bias.zero_()
        for token in tokens:
            layer.bias[tokenizer.convert_tokens_to_ids(token)] = bias
    biased.lm_head = layer
    return biased.eval()


@pytest.fixture(scope="session")
def tiny(tiny_qwen_dir):
    from s1.generation.api import load_model

    return load_model(tiny_qwen_dir)


@pytest.fixture(scope="session")
def eager_to_stop(tiny):
    """Tries `<|im_start|>` at every free position."""
    model, tokenizer = tiny
    return with_end_bias(model, tokenizer, 50.0), tokenizer


@pytest.fixture(scope="session")
def tempted_to_stop(tiny):
    """Tries to end (`<|im_start|>` or `<|im_end|>`) only at some positions."""
    model, tokenizer = tiny
    return with_end_bias(model, tokenizer, 1.0, (IM_START, IM_END)), tokenizer
