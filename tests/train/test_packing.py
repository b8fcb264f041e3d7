import random

import pytest
import torch

from s1.format import IGNORE_INDEX
from s1.train.data import tokenize_examples
from s1.train.packing import PackedCollator, first_fit_decreasing, pack_examples, pack_row
from s1.train.trainer import sequence_lengths
from tests.train.conftest import training_rows


def test_first_fit_decreasing_places_every_item_once_within_budget():
    rng = random.Random(0)
    lengths = [min(int(rng.paretovariate(1.5) * 300), 4096) for _ in range(500)]
    bins = first_fit_decreasing(lengths, 4096)
    assert sorted(index for items in bins for index in items) == list(range(500))
    assert all(sum(lengths[index] for index in items) <= 4096 for items in bins)
    lower_bound = -(-sum(lengths) // 4096)
    assert len(bins) <= 1.03 * lower_bound + 1  # FFD is within 11/9 OPT; on these lengths ~2%
    with pytest.raises(ValueError, match="longer than the bin budget"):
        first_fit_decreasing([5000], 4096)


def test_packed_row_resets_positions_and_masks_boundaries(qwen_tokenizer):
    examples = tokenize_examples(qwen_tokenizer, training_rows(3), 4096, "drop").examples
    row = pack_row(examples)
    starts = [0]
    for example in examples[:-1]:
        starts.append(starts[-1] + len(example.input_ids))
    assert [i for i, position in enumerate(row.position_ids) if position == 0] == starts
    # No loss crosses a boundary: the last token of each example predicts nothing,
    # and the first token of each example is never a target.
    ends = [start - 1 for start in starts[1:]] + [len(row.input_ids) - 1]
    assert all(row.shift_labels[end] == IGNORE_INDEX for end in ends)
    assert all(row.labels[start] == IGNORE_INDEX for start in starts)
    assert row.shift_labels[:-1] == row.labels[1:]
    assert sequence_lengths(torch.tensor([row.position_ids])) == [len(e.input_ids) for e in examples]


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_packed_logits_equal_examples_run_one_by_one(tiny_qwen_dir, qwen_tokenizer, attn_implementation):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_qwen_dir, attn_implementation=attn_implementation).eval()
    examples = tokenize_examples(qwen_tokenizer, training_rows(5, seed=3), 4096, "drop").examples
    [packed] = pack_examples(examples, block_size=4096)
    batch = PackedCollator()([vars(packed)])
    with torch.no_grad():
        packed_logits = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits[0]
        offset = 0
        for length in packed.seq_lengths:
            ids = torch.tensor([packed.input_ids[offset:offset + length]])
            alone = model(input_ids=ids).logits[0]
            torch.testing.assert_close(packed_logits[offset:offset + length], alone, atol=1e-4, rtol=1e-4)
            offset += length
    assert offset == len(packed.input_ids) and len(packed.seq_lengths) == 5
    # Without the per-example positions the same row attends across boundaries: logits differ.
    with torch.no_grad():
        leaky = model(input_ids=batch["input_ids"], use_cache=False).logits[0]
    assert not torch.allclose(leaky[-10:], packed_logits[-10:], atol=1e-3)
