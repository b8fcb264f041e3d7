"""Reply plans: a chat model's plain reply through the engine layer, nothing forced."""

from __future__ import annotations

import pytest

from s1.generation.budget_forcing import BudgetForcer, ForcingPlan, Phase, reply_plan, reply_stop_ids


def test_a_reply_plan_starts_in_the_answer_and_only_forces_the_stop_at_its_cap(qwen_tokenizer):
    plan = reply_plan(qwen_tokenizer, max_tokens=3, prompt_tokens=10, context_window=100)
    assert plan.reply_only and ForcingPlan.from_dict(plan.to_dict()) == plan
    forcer = BudgetForcer(plan)
    assert forcer.phase is Phase.ANSWER and not forcer.hit_cap
    for token in (100, 101, 102):  # the model's own tokens, even the ones that end thinking
        assert forcer.step().forced is None
        forcer.feed(token)
    assert forcer.step().forced == plan.stop[0]  # <|im_end|>: the cap
    forcer.feed(plan.stop[0])
    assert forcer.done and forcer.answer_tokens == 3 and forcer.thinking_tokens == 0
    early = BudgetForcer(plan)
    early.feed(plan.stop[-1])  # the model ends its turn itself
    assert early.done and early.answer_tokens == 0


def test_a_reply_is_bounded_by_the_context_window(qwen_tokenizer):
    assert reply_plan(qwen_tokenizer, 32_768, prompt_tokens=90, context_window=100).max_answer_tokens == 9
    with pytest.raises(ValueError, match="leaves no room"):
        reply_plan(qwen_tokenizer, 8, prompt_tokens=99, context_window=100)
    assert reply_stop_ids(qwen_tokenizer) == (151645, 151643)  # <|im_end|>, <|endoftext|>


def test_the_engine_replies_as_plain_greedy_generate(tiny_qwen_dir):
    """prepare_reply + engine.generate = the model's own chat template and greedy `generate`,
    token for token, in one padded batch of different prompt lengths."""
    import torch

    from s1.generation.engine import load_engine, prepare_reply

    engine = load_engine(tiny_qwen_dir, "transformers")
    questions = ["What is 7 + 5?", "Count the words: fig kiwi fig lime."]
    prompts = [engine.tokenizer.apply_chat_template([{"role": "user", "content": q}], tokenize=False,
                                                    add_generation_prompt=True) for q in questions]
    generations = engine.generate([prepare_reply(engine, prompt, 12) for prompt in prompts])
    for prompt, generation in zip(prompts, generations):
        ids = torch.tensor([engine.tokenizer.encode(prompt, add_special_tokens=False)])
        reference = engine.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                          max_new_tokens=12, do_sample=False,
                                          eos_token_id=list(reply_stop_ids(engine.tokenizer)))
        expected = reference[0, ids.shape[1]:].tolist()
        if len(expected) == 12:  # ran to the cap: the plan forces the end of turn after it
            expected.append(reply_stop_ids(engine.tokenizer)[0])
        assert list(generation.token_ids) == expected
        assert generation.thinking_tokens == 0 and not generation.hit_cap
    engine.shutdown()
