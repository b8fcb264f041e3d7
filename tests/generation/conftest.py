"""Generation fixtures: the tiny Qwen2 loaded once, and a copy biased to end thinking early."""

from __future__ import annotations

import copy

import pytest
import torch

from s1.format import IM_START


@pytest.fixture(scope="session")
def tiny(tiny_qwen_dir):
    from s1.generation.api import load_model

    return load_model(tiny_qwen_dir)


@pytest.fixture(scope="session")
def eager_to_stop(tiny):
    """The tiny model with a +`bias` on `<|im_start|>`'s logit: it tries to end thinking (and
    open new blocks) at every position, so waits and the delimiter are exercised for real."""
    model, tokenizer = tiny
    biased = copy.deepcopy(model)
    head = biased.lm_head
    layer = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        layer.weight.copy_(head.weight)
        layer.bias.zero_()
        layer.bias[tokenizer.convert_tokens_to_ids(IM_START)] = 50.0
    biased.lm_head = layer
    return biased.eval(), tokenizer
