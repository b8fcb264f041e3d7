"""The predictor in-process: readiness follows loading; budgets resolve against server limits."""

from __future__ import annotations

import asyncio

import pytest
from kserve.model_repository import ModelRepository
from kserve.protocol.dataplane import DataPlane

from s1.format import generation_prompt
from s1.serving.config import ServingConfig
from s1.serving.errors import BadRequest
from s1.serving.predictor import S1Predictor
from s1.serving.protocol import GenerationFields

# Loads the real tiny model in-process: seconds.
pytestmark = pytest.mark.slow


def test_not_ready_until_loaded_then_budgets_follow_the_limits(tiny_qwen_dir) -> None:
    predictor = S1Predictor(ServingConfig(model=tiny_qwen_dir, engine="transformers", max_thinking_tokens_limit=6))
    repository = ModelRepository()
    repository.update(predictor)
    dataplane = DataPlane(model_registry=repository)
    assert asyncio.run(dataplane.model_ready("s1")) is False
    assert predictor.engine is False  # KServe's reserved attribute stays untouched

    predictor.load()
    assert asyncio.run(dataplane.model_ready("s1")) is True

    prompt = generation_prompt("2+2?")
    default = predictor.prepare(prompt, GenerationFields())
    assert default.plan.max_thinking_tokens == 6  # no budget given: the server's limit
    with pytest.raises(BadRequest, match="exceeds this server's limit of 6"):
        predictor.prepare(prompt, GenerationFields(max_thinking_tokens=7))
    result = asyncio.run(predictor.complete(default))
    assert result.thinking_tokens <= 6 and result.hit_cap


def test_settings_are_validated_before_loading(tmp_path) -> None:
    with pytest.raises(ValueError) as error:
        ServingConfig(model=tmp_path / "missing", max_queue=-1, request_timeout=0).validate()
    message = str(error.value)
    assert "does not exist" in message and "--max-queue" in message and "--request-timeout" in message
