"""One SFT run, in-process: ``train(recipe, data, out)``; under torchrun, every rank calls it.

Order matters: the data is read, validated, tokenized and packed before the TrainingArguments
start the process group, so bad data fails once with a clear message and no rank hangs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from s1.cache import cache_dir
from s1.format import delimiter_ids
from s1.jsonl import load_jsonl
from s1.train.checkpoints import (
    CompleteCheckpointCallback,
    download_latest_checkpoint,
    latest_complete_checkpoint,
    remove_incomplete,
)
from s1.train.config import Recipe, load_recipe
from s1.train.data import read_examples, tokenize_examples
from s1.train.metrics import StepCounter, StepMetricsCallback, parameter_count
from s1.train.packing import pack_examples, unpacked_rows, useful_token_fraction
from s1.train.sampling import LengthGroupedStepSampler

log = logging.getLogger(__name__)

LOCAL_MODEL_PREFIX = "local:"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"


def resolve_model(model: str) -> str:
    """``local:<name>`` -> a folder built once by ``s1.models`` (locked: ranks may race here)."""
    if not model.startswith(LOCAL_MODEL_PREFIX):
        return model
    from s1.models.build import build_model

    name = model.removeprefix(LOCAL_MODEL_PREFIX)
    cache = cache_dir() / "models"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return str(build_model(name, cache / name))


def torchrun_world() -> dict[str, Any]:
    """Topology overrides matching the processes torchrun actually started (empty outside it)."""
    if "WORLD_SIZE" not in os.environ:
        return {}
    world, local = int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_WORLD_SIZE"])
    return {"topology.nodes": world // local, "topology.processes_per_node": local}


def prepare_data(recipe: Recipe, data: Path, tokenizer) -> tuple[list[dict], dict[str, Any]]:
    """Rows for the trainer plus a data report; raises TrainingDataError on bad input."""
    delimiter_ids(tokenizer)  # fails clearly for a tokenizer without the ChatML tokens
    dataset = tokenize_examples(tokenizer, read_examples(data), recipe.block_size, recipe.overlong)
    packed = pack_examples(dataset.examples, recipe.block_size) if recipe.packing else unpacked_rows(dataset.examples)
    rows = [vars(row) for row in packed]
    report = dataset.report() | {
        "rows": len(rows),
        "packing": recipe.packing,
        # Packed: fraction of the row budget (block_size per row) filled with real tokens.
        "fill_fraction": useful_token_fraction(dataset.num_tokens, len(rows) * recipe.block_size)
        if recipe.packing else None,
    }
    return rows, report


def training_arguments(recipe: Recipe, out: Path):
    from transformers import TrainingArguments

    topology = recipe.topology
    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=1,
        gradient_accumulation_steps=recipe.gradient_accumulation_steps,
        num_train_epochs=recipe.epochs,
        max_steps=recipe.max_steps,
        learning_rate=recipe.learning_rate,
        lr_scheduler_type=recipe.lr_scheduler,
        warmup_steps=recipe.warmup_ratio,
        adam_beta1=recipe.adam_beta1,
        adam_beta2=recipe.adam_beta2,
        weight_decay=recipe.weight_decay,
        max_grad_norm=recipe.max_grad_norm,
        bf16=recipe.precision == "bf16",
        logging_steps=1,
        save_strategy="steps",
        save_steps=recipe.save_steps,
        # Rotation is ours (CompleteCheckpointCallback): only complete checkpoints count.
        save_total_limit=None,
        seed=recipe.seed,
        data_seed=recipe.seed,
        use_cpu=topology.device == "cpu",
        # Only under torchrun: a single process must not look for a process group.
        ddp_backend=topology.backend if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        ddp_timeout=topology.collective_timeout_s,
        ddp_find_unused_parameters=False,
        deepspeed=topology.deepspeed,
        # The names every transformers from the floor (5.16.1) to 5.24 accepts; 5.23 renamed them
        # activation_checkpointing* and keeps these as aliases.
        gradient_checkpointing=topology.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        remove_unused_columns=False,
        dataloader_num_workers=0,
        report_to="none",
    )


def train(recipe: str | Path, data: Path, out: Path, overrides: dict | None = None) -> dict:
    """Fine-tune as the recipe says; resumes from the newest complete checkpoint in ``out``.

    With ``checkpoint_uri`` set and no complete checkpoint in ``out``, the newest complete one in
    the object store is fetched first (rank 0; the others wait at the barrier).
    """
    import torch
    import torch.distributed as dist
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    config = load_recipe(recipe, {**(overrides or {}), **torchrun_world()})
    out = Path(out)
    model_path = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    rows, data_report = prepare_data(config, Path(data), tokenizer)
    out.mkdir(parents=True, exist_ok=True)

    args = training_arguments(config, out)  # starts the process group under torchrun
    if config.topology.deepspeed is not None and dist.is_initialized():
        # With use_cpu, accelerate started torch.distributed itself; DeepSpeed's comm layer must
        # wrap that group, or zero.Init sees a world of one and the batch-size check fails.
        import deepspeed

        deepspeed.init_distributed(dist_backend=config.topology.backend)
    if args.process_index == 0:
        remove_incomplete(out)
        if config.checkpoint_uri and latest_complete_checkpoint(out) is None:
            download_latest_checkpoint(config.checkpoint_uri, out)
    if dist.is_initialized():
        dist.barrier()
    resume = latest_complete_checkpoint(out)
    if resume is not None:
        log.info("resuming from %s", resume)

    model = AutoModelForCausalLM.from_pretrained(
        model_path,
        dtype=torch.bfloat16 if config.precision == "bf16" else torch.float32,
        attn_implementation=config.topology.attn_implementation,
    )
    counter = StepCounter()
    checkpoints = CompleteCheckpointCallback(out, config.save_total_limit, config.checkpoint_uri)
    metrics_path = out / METRICS_FILE
    from s1.train.trainer import PackedSFTTrainer

    trainer = PackedSFTTrainer(
        model=model,
        args=args,
        train_dataset=rows,
        data_collator=_collator(),
        processing_class=tokenizer,
        callbacks=[
            StepMetricsCallback(
                counter, model.config, parameter_count(model), config.precision, metrics_path
            ),
            checkpoints,
        ],
        loss_chunk_size=config.loss_chunk_size,
        step_counter=counter,
        per_example_mean=not config.packing,
        train_sampler=_step_sampler(config, rows),
    )
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    save_final_model(trainer, tokenizer, out / "model")
    checkpoints.wait_for_uploads()  # after the last collective: no rank waits on an upload

    summary = {
        "recipe": config.name,
        "model": config.model,
        "world_size": config.topology.world_size,
        "steps": trainer.state.global_step,
        "epochs": trainer.state.epoch,
        "final_loss": _last_logged_loss(trainer.state.log_history),
        "train_loss": result.training_loss,
        "tokens": _logged_tokens(metrics_path) if args.process_index == 0 else None,
        "seconds": time.perf_counter() - started,
        "resumed_from": str(resume) if resume else None,
        "data": data_report,
        "model_dir": str(out / "model"),
    }
    if args.process_index == 0:
        (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _step_sampler(config: Recipe, rows: list[dict]) -> LengthGroupedStepSampler | None:
    """Length-grouped steps, or None for the Trainer's own uniform draw (what s1 trained with)."""
    if config.length_group_steps == 1:
        return None
    lengths = [len(row["input_ids"]) for row in rows]
    return LengthGroupedStepSampler(lengths, config.global_batch_size, config.length_group_steps, config.seed)


def _collator():
    from s1.train.packing import PackedCollator

    return PackedCollator()


def save_final_model(trainer, tokenizer, target: Path) -> None:
    """safetensors + tokenizer in ``target``, swapped in whole.

    Under ZeRO-3 the checkpoints keep shards only (``stage3_gather_16bit_weights_on_model_save``
    off), so the full weights are gathered here, once, by every rank together.
    """
    import torch.distributed as dist

    staging = target.with_name(f".{target.name}.partial")
    engine = trainer.model_wrapped
    if trainer.is_deepspeed_enabled and engine.zero_optimization_partition_weights():
        state_dict = engine._zero3_consolidated_16bit_state_dict()  # every rank; rank 0 gets it
        if trainer.is_world_process_zero():
            trainer.accelerator.unwrap_model(trainer.model).save_pretrained(staging, state_dict=state_dict)
    else:
        trainer.save_model(str(staging))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    if dist.is_initialized():
        dist.barrier()


def _last_logged_loss(history: list[dict]) -> float | None:
    losses = [entry["loss"] for entry in history if "loss" in entry]
    return losses[-1] if losses else None


def _logged_tokens(metrics_path: Path) -> int:
    """Tokens trained on over the whole run, resumed segments included (last record per step)."""
    per_step: dict[int, int] = {}
    if metrics_path.is_file():
        for record in load_jsonl(metrics_path):
            per_step[record["step"]] = record.get("tokens", 0)
    return sum(per_step.values())
