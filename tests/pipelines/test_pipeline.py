"""The compiled pipeline: up to date with its source, and carrying the cluster settings it promises."""

from __future__ import annotations

import pytest
import yaml

from pipelines.cli import SPEC_PATH, compile_pipeline, known_parameters
from pipelines.images import image_for


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[str, dict, dict]:
    path = compile_pipeline(tmp_path_factory.mktemp("spec") / "s1_pipeline.yaml")
    text = path.read_text()
    spec, platform = yaml.safe_load_all(text)
    return text, spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


def test_committed_spec_is_up_to_date(compiled):
    text, _, _ = compiled
    assert SPEC_PATH.read_text() == text, "pipelines/s1_pipeline.yaml is stale: run `s1 pipeline compile`"


def test_each_component_runs_in_its_own_image(compiled):
    _, spec, _ = compiled
    executors = spec["deploymentSpec"]["executors"]
    assert set(executors) == {"exec-curation-placement", "exec-curate", "exec-train", "exec-evaluate", "exec-deploy"}
    # The train step only submits and watches the job: the light launch image, not the CUDA one.
    # The curate step's image is chosen while the pipeline runs (test_curation_placement...).
    images = {"exec-curation-placement": "curate", "exec-train": "launch", "exec-evaluate": "evaluate",
              "exec-deploy": "deploy"}  # fmt: skip
    for name, executor in executors.items():
        container = executor["container"]
        if name in images:
            assert container["image"] == image_for(images[name])
        # Lightweight components on prebuilt images: no pip install at start-up.
        assert "pip install" not in " ".join(container["command"])


def test_parameters_default_to_s1(compiled):
    _, spec, _ = compiled
    params = {k: v.get("defaultValue") for k, v in spec["root"]["inputDefinitions"]["parameters"].items()}
    assert params["base_model"] == "Qwen/Qwen2.5-32B-Instruct" and params["recipe"] == "s1-32b"
    assert params["n"] == 1000 and (params["num_nodes"], params["gpus_per_node"]) == (0, 0)  # the recipe's
    from pipelines.training_job import job_shape

    assert job_shape(params["recipe"]) == (2, 8, 8)  # s1: 2 nodes x 8 GPUs, stated once in its topology
    assert params["budgets"] == [500, 1000, 2000, 4000, 8000, 16000]
    assert params["benchmarks"] == ["aime24", "math500", "gpqa_diamond"]
    assert params["pool_sources"] == ["s1_59k=simplescaling/data_ablation_full59K"]
    assert params["train_launcher"] == "pytorchjob" and params["deploy_model"] is True
    assert (params["train_network"], params["gang_scheduling"], params["eval_engine"]) == ("pod", False, "vllm")
    assert set(params) == set(known_parameters())


def test_evaluate_runs_vllm_tensor_parallel_over_its_gpus(compiled):
    _, spec, _ = compiled
    resources = spec["deploymentSpec"]["executors"]["exec-evaluate"]["container"]["resources"]
    inputs = spec["root"]["dag"]["tasks"]["evaluate"]["inputs"]["parameters"]
    assert inputs["engine"] == {"componentInputParameter": "eval_engine"}
    assert inputs["tensor_parallel_size"]["runtimeValue"]["constant"] == int(resources["accelerator"]["resourceCount"])


def test_gpu_step_requests_gpus_on_gpu_nodes(compiled):
    _, spec, kubernetes = compiled
    resources = spec["deploymentSpec"]["executors"]["exec-evaluate"]["container"]["resources"]
    assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
    assert resources["accelerator"]["resourceCount"] == "8"
    evaluate = kubernetes["exec-evaluate"]
    assert evaluate["emptyDirMounts"] == [{"medium": "Memory", "mountPath": "/dev/shm", "volumeName": "dshm"}]
    assert evaluate["nodeSelector"]["labels"]
    assert {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"} in evaluate["tolerations"]
    # The train step only watches the PyTorchJob: it must not hold a GPU itself.
    assert "accelerator" not in spec["deploymentSpec"]["executors"]["exec-train"]["container"].get("resources", {})


def test_shared_volume_and_secrets(compiled):
    _, _, kubernetes = compiled
    for executor in ("exec-curate", "exec-train", "exec-evaluate"):
        (mount,) = kubernetes[executor]["pvcMount"]
        assert mount["mountPath"] == "/mnt/s1" and mount["pvcNameParameter"] == {"componentInputParameter": "pvc_name"}
    for executor in ("exec-curate", "exec-evaluate"):
        (secret,) = kubernetes[executor]["secretAsEnv"]
        assert secret["optional"] is True
        assert {item["envVar"] for item in secret["keyToEnv"]} == {"OPENAI_API_KEY", "HF_TOKEN"}


def test_deploy_is_conditional_and_never_cached(compiled):
    _, spec, _ = compiled
    tasks = spec["root"]["dag"]["tasks"]
    (condition,) = [t for t in tasks.values() if "triggerPolicy" in t]
    assert "deploy_model" in condition["triggerPolicy"]["condition"]
    inner = spec["components"][condition["componentRef"]["name"]]["dag"]["tasks"]
    assert inner["deploy"]["cachingOptions"] == {}  # KFP writes enableCache only when true
    for name in ("curate", "train", "evaluate"):
        assert tasks[name]["cachingOptions"] == {"enableCache": True}
    assert "evaluate" in condition["dependentTasks"]  # serve only a model that was evaluated
    # The predictor is the pipeline's choice: s1 serve by default, stock vLLM with s1's plugin on request.
    assert spec["root"]["inputDefinitions"]["parameters"]["predictor"]["defaultValue"] == "s1"
    assert inner["deploy"]["inputs"]["parameters"]["predictor"] == {"componentInputParameter": "pipelinechannel--predictor"}


def test_every_input_is_described(compiled):
    """The UI shows these descriptions (from the docstrings' Args) in the run form and on each step."""
    _, spec, _ = compiled
    roots = {"pipeline": spec["root"], **spec["components"]}
    for name, component in roots.items():
        if "dag" in component and name != "pipeline":
            continue  # the dsl.If sub-DAG only forwards the pipeline's own parameters
        for kind in ("parameters", "artifacts"):
            for key, definition in component.get("inputDefinitions", {}).get(kind, {}).items():
                assert definition.get("description"), f"{name}: input {key} has no description"


def test_curation_runs_on_a_gpu_node_in_the_vllm_image_when_a_role_is_local(compiled):
    """The curate task takes its image, GPUs, CPU, memory, node selector and tolerations from the
    placement step, which reads the roles while the pipeline runs."""
    import kubernetes_validate

    from pipelines.cluster import GPU_NODE_SELECTOR
    from pipelines.steps import curation_placement_step

    _, spec, kubernetes = compiled
    container = spec["deploymentSpec"]["executors"]["exec-curate"]["container"]
    placed = "{{$.inputs.parameters['pipelinechannel--curation-placement-%s']}}"
    assert container["image"] == placed % "image"
    assert container["resources"]["accelerator"] == {"resourceCount": placed % "gpus", "resourceType": "nvidia.com/gpu",
                                                     "type": "nvidia.com/gpu"}  # fmt: skip
    assert (container["resources"]["resourceCpuLimit"], container["resources"]["resourceMemoryLimit"]) == (
        placed % "cpu", placed % "memory")
    curate = kubernetes["exec-curate"]
    produced = {"producerTask": "curation-placement"}
    assert curate["nodeSelector"]["nodeSelectorJson"]["taskOutputParameter"] == {**produced, "outputParameterKey": "node_selector"}
    (tolerations,) = curate["tolerations"]
    assert tolerations["tolerationJson"]["taskOutputParameter"] == {**produced, "outputParameterKey": "tolerations"}
    assert curate["emptyDirMounts"] == [{"medium": "Memory", "mountPath": "/dev/shm", "volumeName": "dshm"}]
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["curation-placement"]["inputs"]["parameters"]["gpus"] == {"componentInputParameter": "curation_gpus"}
    assert tasks["curate"]["inputs"]["parameters"]["engine"] == {"componentInputParameter": "curation_engine"}

    images = (image_for("curate"), image_for("evaluate"))
    evaluate = kubernetes["exec-evaluate"]
    local = curation_placement_step({}, {"model": "local:Qwen/Qwen2.5-32B-Instruct"},
                                    [{"model": "gpt-4o", "base_url": "https://api.openai.com/v1"}], 8, *images)
    assert (local["image"], local["gpus"]) == (image_for("evaluate"), 8)  # the image with vLLM
    # The same nodes and tolerations as the evaluate step's.
    assert local["node_selector"] == GPU_NODE_SELECTOR == evaluate["nodeSelector"]["labels"]
    assert local["tolerations"] == evaluate["tolerations"]
    endpoints = curation_placement_step({}, {}, [{"model": "qwen", "base_url": "http://q/v1"}], 8, *images)
    assert endpoints == {"image": image_for("curate"), "gpus": 0, "node_selector": {}, "tolerations": [],
                         "cpu": "8", "memory": "32Gi"}  # fmt: skip
    assert curation_placement_step({}, {}, ["local:smollm2"], 0, *images)["gpus"] == 0  # asked for CPU
    for placement in (local, endpoints):  # what the driver makes of it is a valid pod
        resources = {"cpu": placement["cpu"], "memory": placement["memory"]}
        if placement["gpus"]:
            resources["nvidia.com/gpu"] = str(placement["gpus"])
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "curate"},
               "spec": {"nodeSelector": placement["node_selector"], "tolerations": placement["tolerations"],
                        "containers": [{"name": "main", "image": placement["image"],
                                        "resources": {"limits": resources}}]}}
        kubernetes_validate.validate(pod, "1.31", strict=True)
