"""The transformers Trainer with a packed, completion-only, chunked loss.

TRL's SFTTrainer was considered: its padding-free path flattens each micro-batch on the fly,
while s1 needs whole-dataset first-fit packing into fixed token budgets (balanced work per GPU,
no wait on the longest example) and a loss that never builds full-vocabulary logits. Both need
only ``compute_loss``, so the plain Trainer keeps the rest (DeepSpeed, DDP, checkpoints, resume,
seeded sampling) as Hugging Face users know it.
"""

from __future__ import annotations

import torch
from torch.utils.data import Sampler
from transformers import Trainer

from s1.train.loss import agreed_num_chunks, chunked_cross_entropy_sum, num_target_tokens
from s1.train.metrics import StepCounter


def sequence_lengths(position_ids: torch.Tensor) -> list[int]:
    """Lengths of the packed examples in a [1, n] row: each restarts its positions at 0."""
    starts = (position_ids[0] == 0).nonzero().flatten().tolist()
    return [stop - start for start, stop in zip(starts, starts[1:] + [position_ids.shape[1]])]


class PackedSFTTrainer(Trainer):
    """The completion-only, chunked loss, averaged one of two ways.

    ``per_example_mean`` (unpacked rows, s1's setup): each micro-batch holds one example, whose
    loss is its per-token mean; the step averages those over micro-batches and ranks, as
    TRL's trainer did for s1 (micro-batch 1 per GPU, gradients averaged over GPUs).
    Otherwise (packed rows): sum of target-token losses / target tokens in the whole optimizer
    step (the Trainer's ``num_items_in_batch`` over micro-batches and ranks), so every target
    token weighs the same however the bins fell.
    """

    def __init__(
        self,
        *args,
        loss_chunk_size: int,
        step_counter: StepCounter,
        per_example_mean: bool,
        train_sampler: Sampler | None,
        **kwargs,
    ):
        self.train_sampler = train_sampler
        super().__init__(*args, **kwargs)
        self.loss_chunk_size = loss_chunk_size
        self.step_counter = step_counter
        self.per_example_mean = per_example_mean
        # Our compute_loss takes num_items_in_batch: the Trainer then counts it over
        # `shift_labels` and does not rescale the loss for gradient accumulation again.
        self.model_accepts_loss_kwargs = True

    def _get_train_sampler(self, train_dataset=None) -> Sampler | None:
        # Length-grouped steps (s1.train.sampling), or the Trainer's uniform draw (s1's) if None.
        return self.train_sampler or super()._get_train_sampler(train_dataset)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = dict(inputs)
        inputs.pop("labels", None)
        shift_labels = inputs.pop("shift_labels")
        if model.training:
            self.step_counter.add(sequence_lengths(inputs["position_ids"].cpu()))
        # logits_to_keep=1: the model's own head runs on one position only; the final
        # (normed) hidden states go through the head chunk by chunk below.
        outputs = model(**inputs, logits_to_keep=1, output_hidden_states=True, use_cache=False)
        lm_head = self.accelerator.unwrap_model(model).get_output_embeddings()
        num_targets = num_target_tokens(shift_labels)
        num_chunks = agreed_num_chunks(num_targets, self.loss_chunk_size, inputs["input_ids"].device)
        loss_sum = chunked_cross_entropy_sum(
            outputs.hidden_states[-1], lm_head, shift_labels, self.loss_chunk_size, num_chunks
        )
        if self.per_example_mean or num_items_in_batch is None:
            # The Trainer leaves the accumulation scaling to us (model_accepts_loss_kwargs).
            accumulation = getattr(self, "current_gradient_accumulation_steps", self.args.gradient_accumulation_steps)
            loss = loss_sum / max(num_targets, 1) / accumulation
        else:
            loss = loss_sum / num_items_in_batch
            if self.args.average_tokens_across_devices and self.accelerator.num_processes > 1:
                # num_items_in_batch counts all ranks' tokens, and DDP/ZeRO average gradients
                # over ranks: scale back up so the result is the per-token mean.
                loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss
