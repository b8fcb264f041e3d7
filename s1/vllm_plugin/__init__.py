"""s1's budget forcing and think/answer format in a stock vLLM OpenAI server (the flags, as data).

Usage: `pip install 's1-kubeflow[vllm]'`, then

    vllm serve MODEL $(python -c "import s1.vllm_plugin as p; print(' '.join(p.stock_server_args()))")

This module imports neither vLLM nor torch, so manifests (KServe's ServingRuntime) are rendered
from it on machines without vLLM. The flags name:
- the logits processor (`LOGITS_PROCESSORS`): one class that vLLM's old model runner and Model
  Runner V2 both load; per request it reads s1 serve's budget fields from `vllm_xargs`;
- the reasoning parser (`REASONING_PARSER`, registered by importing `REASONING_PARSER_PLUGIN`):
  the thinking goes to `message.reasoning`, the answer to `content`;
- the chat template (`s1.format.chat_template()`): chat prompts end with s1's think marker, as
  `s1 serve` builds them.
"""

from __future__ import annotations

from s1.format import chat_template

LOGITS_PROCESSORS = "s1.generation.vllm_logits:BudgetForcingLogitsProcessor"
REASONING_PARSER = "s1"
REASONING_PARSER_PLUGIN = "s1.vllm_plugin.reasoning"


def stock_server_args() -> list[str]:
    """Flags to add to `python -m vllm.entrypoints.openai.api_server` (or `vllm serve MODEL`)."""
    return [
        "--logits-processors", LOGITS_PROCESSORS,
        "--reasoning-parser-plugin", REASONING_PARSER_PLUGIN,
        "--reasoning-parser", REASONING_PARSER,
        "--chat-template", chat_template(),
    ]
