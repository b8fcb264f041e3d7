"""`s1 serve`: the KServe predictor with budget forcing and OpenAI routes.

Usage: s1 serve --model models/tiny-qwen --port 8080 [--host 127.0.0.1] [--name s1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from s1.generation.engine import ENGINE_NAMES
from s1.serving.config import ServingConfig

_DEFAULTS = ServingConfig(model=Path("."))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="serve a model with KServe (V1/V2 and OpenAI routes, budget forcing)",
        description="Usage: s1 serve --model models/tiny-qwen --port 8080",
    )
    serve.add_argument("--model", type=Path, required=True, help="model folder (e.g. /mnt/models)")
    serve.add_argument("--port", type=int, default=_DEFAULTS.port, help="HTTP port")
    serve.add_argument("--host", default=_DEFAULTS.host, help="address to bind (0.0.0.0 in a pod)")
    serve.add_argument("--name", default=_DEFAULTS.name, help="model name in the routes")
    serve.add_argument("--engine", choices=ENGINE_NAMES, default=_DEFAULTS.engine,
                       help="auto: vLLM when installed and a GPU is visible, else transformers")
    serve.add_argument("--max-thinking-tokens-limit", type=int, default=_DEFAULTS.max_thinking_tokens_limit,
                       help="largest thinking budget a request may ask for (and the default budget)")
    serve.add_argument("--max-answer-tokens-limit", type=int, default=_DEFAULTS.max_answer_tokens_limit,
                       help="largest answer budget (KServe max_answer_tokens) a request may ask for")
    serve.add_argument("--max-prompt-tokens", type=int, default=_DEFAULTS.max_prompt_tokens,
                       help="longest accepted prompt, in tokens")
    serve.add_argument("--max-queue", type=int, default=_DEFAULTS.max_queue,
                       help="requests that may wait for the engine; more are answered 503")
    serve.add_argument("--max-running", type=int, default=None,
                       help="requests generating at once (default: the engine's own limit)")
    serve.add_argument("--request-timeout", type=float, default=_DEFAULTS.request_timeout,
                       help="seconds before a request (queueing included) is stopped with 504")
    serve.add_argument("--gpu-memory-utilization", type=float, default=_DEFAULTS.gpu_memory_utilization,
                       help="vLLM: memory fraction for weights and KV cache (default 0.9 on GPU, "
                            "0.15 of host RAM on vLLM's CPU build)")
    serve.add_argument("--tensor-parallel-size", type=int, default=_DEFAULTS.tensor_parallel_size,
                       help="vLLM: GPUs per model replica (default: every visible GPU)")
    serve.add_argument("--max-model-len", type=int, default=_DEFAULTS.max_model_len,
                       help="vLLM: context length to serve (default: the model's)")
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from s1.serving.server import serve

    serve(ServingConfig(
        model=args.model,
        name=args.name,
        host=args.host,
        port=args.port,
        engine=args.engine,
        max_thinking_tokens_limit=args.max_thinking_tokens_limit,
        max_answer_tokens_limit=args.max_answer_tokens_limit,
        max_prompt_tokens=args.max_prompt_tokens,
        max_queue=args.max_queue,
        max_running=args.max_running,
        request_timeout=args.request_timeout,
        gpu_memory_utilization=args.gpu_memory_utilization,
        tensor_parallel_size=args.tensor_parallel_size,
        max_model_len=args.max_model_len,
    ).validate())
    return 0
