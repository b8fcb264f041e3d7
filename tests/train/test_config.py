from pathlib import Path

import pytest

from s1.train.config import RecipeError, available_recipes, load_recipe, load_topology, parse_overrides


def test_shipped_recipes_load_with_s1_numbers():
    assert {"s1-32b", "s1.1-32b", "tiny-qwen", "smollm2"} <= set(available_recipes())
    s1 = load_recipe("s1-32b")
    assert (s1.model, s1.epochs, s1.global_batch_size, s1.learning_rate) == ("Qwen/Qwen2.5-32B-Instruct", 5, 16, 1e-5)
    assert (s1.adam_beta1, s1.adam_beta2, s1.weight_decay, s1.warmup_ratio) == (0.9, 0.95, 1e-4, 0.05)
    assert (s1.precision, s1.block_size, s1.lr_scheduler) == ("bf16", 32768, "cosine")
    assert s1.topology.world_size == 16 and s1.topology.deepspeed["zero_optimization"]["stage"] == 3
    assert s1.gradient_accumulation_steps == 1
    # s1's optimisation: one example per row (16 examples per step), its per-example loss average.
    assert (s1.packing, s1.length_group_steps) == (False, 16)
    assert load_recipe("s1.1-32b").block_size == 20480


def test_overrides_are_typed_and_reach_the_topology():
    recipe = load_recipe("tiny-qwen", parse_overrides(["learning_rate=2e-5", "topology.processes_per_node=2", "max_steps=3"]))
    assert recipe.learning_rate == 2e-5 and recipe.max_steps == 3
    assert recipe.topology.world_size == 2 and recipe.gradient_accumulation_steps == 1
    # Pod commands pass strings; they are read as YAML scalars.
    assert load_recipe("tiny-qwen", {"epochs": "2"}).epochs == 2.0


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"learning_rat": 1.0}, "unknown key"),
        ({"precision": "fp8"}, "expected one of"),
        ({"block_size": "many"}, "is not a int"),
        ({"global_batch_size": 3, "topology.processes_per_node": 2}, "not a multiple of the world size"),
        ({"precision": "bf16"}, "bf16 needs a GPU"),
        ({"topology.backend": "nccl"}, "gloo"),
        ({"topology": "cpu-zero3", "topology.env": {"OMP_NUM_THREADS": "1"}}, "DS_ACCELERATOR: cpu"),
        ({"topology": "cpu-zero3", "topology.deepspeed": {"bf16": {"enabled": True}}}, "bf16 needs a GPU"),
    ],
)
def test_bad_values_fail_with_the_key(overrides, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe("tiny-qwen", overrides)


def test_recipe_from_file_and_unknown_name(tmp_path: Path):
    path = tmp_path / "mine.yaml"
    path.write_text("model: some/model\ntopology: cpu\nepochs: 1\n")
    assert load_recipe(path).name == "mine"
    with pytest.raises(RecipeError, match="unknown recipe"):
        load_recipe("nope")
    with pytest.raises(RecipeError, match="key=value"):
        parse_overrides(["learning_rate"])


def test_cpu_zero3_is_the_production_deepspeed_section_in_fp32():
    cpu, gpu = load_recipe("tiny-qwen", {"topology": "cpu-zero3"}).topology, load_topology("2x8-h100-zero3")
    assert (cpu.device, cpu.backend, cpu.env["DS_ACCELERATOR"]) == ("cpu", "gloo", "cpu")
    assert cpu.deepspeed["bf16"] == {"enabled": False}
    assert {k: v for k, v in cpu.deepspeed.items() if k != "bf16"} == {
        k: v for k, v in gpu.deepspeed.items() if k != "bf16"}
