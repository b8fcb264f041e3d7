import json

import pytest
import torch

from s1.format import IGNORE_INDEX
from s1.train.loss import chunked_cross_entropy_sum


def test_chunked_cross_entropy_equals_plain_loss_and_gradients():
    torch.manual_seed(0)
    hidden_size, vocab, tokens = 16, 50, 37
    head = torch.nn.Linear(hidden_size, vocab, bias=False)
    hidden = torch.randn(1, tokens, hidden_size, requires_grad=True)
    labels = torch.randint(0, vocab, (1, tokens))
    labels[0, :9] = IGNORE_INDEX
    labels[0, 20] = IGNORE_INDEX

    plain = torch.nn.functional.cross_entropy(
        head(hidden).float().view(-1, vocab), labels.view(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    plain.backward()
    expected_hidden, expected_head = hidden.grad.clone(), head.weight.grad.clone()
    hidden.grad, head.weight.grad = None, None

    chunked = chunked_cross_entropy_sum(hidden, head, labels, chunk_size=5)
    chunked.backward()
    torch.testing.assert_close(chunked, plain)
    torch.testing.assert_close(hidden.grad, expected_hidden)
    torch.testing.assert_close(head.weight.grad, expected_head)


def test_trainer_loss_matches_the_models_own_loss(tiny_qwen_dir, qwen_tokenizer):
    """Packed, shifted, chunked loss over the LM head == transformers' causal-LM loss per example."""
    from transformers import AutoModelForCausalLM

    from s1.train.data import tokenize_examples
    from s1.train.packing import PackedCollator, pack_examples
    from tests.train.conftest import training_rows

    model = AutoModelForCausalLM.from_pretrained(tiny_qwen_dir).eval()
    examples = tokenize_examples(qwen_tokenizer, training_rows(3), 4096, "drop").examples
    [row] = pack_examples(examples, 4096)
    batch = PackedCollator()([vars(row)])
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                    output_hidden_states=True, use_cache=False)
        ours = chunked_cross_entropy_sum(out.hidden_states[-1], model.get_output_embeddings(), batch["shift_labels"], 7)
        reference, count = 0.0, 0
        for example in examples:
            labels = torch.tensor([example.labels])
            n = int((labels[0, 1:] != IGNORE_INDEX).sum())
            reference += model(input_ids=torch.tensor([example.input_ids]), labels=labels).loss * n
            count += n
    assert count == int((batch["shift_labels"] != IGNORE_INDEX).sum())
    torch.testing.assert_close(ours, torch.as_tensor(reference), atol=1e-3, rtol=1e-4)


def test_extra_empty_chunks_add_nothing_and_too_few_are_refused():
    """Ranks agree on the largest chunk count: a rank with fewer targets runs empty chunks."""
    torch.manual_seed(1)
    head = torch.nn.Linear(8, 20, bias=False)
    calls = []
    head.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    hidden = torch.randn(1, 11, 8, requires_grad=True)
    labels = torch.randint(0, 20, (1, 11))
    exact = chunked_cross_entropy_sum(hidden, head, labels, chunk_size=4)
    (exact_grad,) = torch.autograd.grad(exact, hidden)
    assert calls == [4, 4, 3, 3, 4, 4]  # three chunks, recomputed in backward (last first)
    calls.clear()
    padded = chunked_cross_entropy_sum(hidden, head, labels, chunk_size=4, num_chunks=5)
    (padded_grad,) = torch.autograd.grad(padded, hidden)
    assert calls == [4, 4, 3, 0, 0, 0, 0, 3, 4, 4]  # the empty chunks are called and recomputed too
    torch.testing.assert_close(padded, exact)
    torch.testing.assert_close(padded_grad, exact_grad)
    with pytest.raises(ValueError, match="cannot hold 11 targets"):
        chunked_cross_entropy_sum(hidden, head, labels, chunk_size=4, num_chunks=2)


@pytest.mark.slow
def test_unpacked_step_loss_is_s1s_mean_of_per_example_means(tmp_path, tiny_qwen_dir, qwen_tokenizer):
    """packing: false averages as s1/TRL did: each example's per-token mean, then over the step.

    One step holds all 4 examples (one rank, 4 accumulated micro-steps, lr 0 at step 1), with
    target counts from ~20 to ~400; a sharpened copy of the tiny model (LM head x 40) makes their
    losses differ, so this mean and the per-token mean over the step tell apart.
    """
    from transformers import AutoModelForCausalLM

    from s1.train.config import load_recipe
    from s1.train.data import read_examples, tokenize_examples
    from s1.train.run import METRICS_FILE, train
    from tests.train.conftest import training_rows, write_rows

    rows = training_rows(4)
    for row, repeat in zip(rows, (0, 2, 10, 40)):
        row["thinking"] += " Check: carry the one." * repeat
    data = write_rows(tmp_path / "data" / "selected.jsonl", rows)
    sharp = AutoModelForCausalLM.from_pretrained(tiny_qwen_dir)
    with torch.no_grad():
        sharp.get_output_embeddings().weight.mul_(40)
    sharp.save_pretrained(tmp_path / "sharp")
    qwen_tokenizer.save_pretrained(tmp_path / "sharp")
    run = {"model": str(tmp_path / "sharp"), "packing": False, "global_batch_size": 4, "max_steps": 1, "save_steps": 100}
    train("tiny-qwen", data, tmp_path / "out", run)

    recipe = load_recipe("tiny-qwen", run)
    examples = tokenize_examples(qwen_tokenizer, read_examples(data), recipe.block_size, recipe.overlong).examples
    means, counts = [], []
    with torch.no_grad():
        for example in examples:
            labels = torch.tensor([example.labels])
            means.append(float(sharp(input_ids=torch.tensor([example.input_ids]), labels=labels).loss))
            counts.append(example.num_loss_tokens)
    s1_mean = sum(means) / len(means)
    token_mean = sum(m * n for m, n in zip(means, counts)) / sum(counts)
    assert abs(token_mean - s1_mean) > 1e-3 * s1_mean, (means, counts)
    logged = json.loads((tmp_path / "out" / METRICS_FILE).read_text().splitlines()[0])["loss"]
    assert logged == pytest.approx(s1_mean, rel=1e-4)
