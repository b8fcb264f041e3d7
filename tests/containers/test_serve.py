"""The serve image started the way KServe starts it: the InferenceService builder's command and
args, the model read-only at /mnt/models, uid 1000, a read-only root filesystem with writable
caches, port 8080; it answers KServe's and OpenAI's routes and exits cleanly on SIGTERM."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from pipelines.inferenceservice import MODEL_MOUNT, PORT, InferenceServiceSpec, build_inferenceservice
from tests.containers.conftest import readable_copy

pytestmark = [pytest.mark.container, pytest.mark.slow]

# Kubernetes' default terminationGracePeriodSeconds (the InferenceService sets none).
GRACE_SECONDS = 30


def kserve_container(image: str) -> tuple[dict, list[str]]:
    """The predictor container of the InferenceService the deploy step creates, on CPU, and
    podman's flags for its filesystem: read-only root as its securityContext says, a tmpfs
    (mode as an emptyDir's) where it mounts an emptyDir, and nothing else writable."""
    spec = InferenceServiceSpec(name="s1", storage_uri="pvc://s1-data/model", image=image, gpus=0,
                                node_selector={}, tolerations=())  # fmt: skip
    predictor = build_inferenceservice(spec)["spec"]["predictor"]
    (container,) = predictor["containers"]
    empty_dirs = {volume["name"] for volume in predictor["volumes"] if "emptyDir" in volume}
    flags = ["--read-only", "--read-only-tmpfs=false"] if container["securityContext"]["readOnlyRootFilesystem"] else []
    flags += [f"--tmpfs={mount['mountPath']}:mode=1777" for mount in container["volumeMounts"] if mount["name"] in empty_dirs]
    return container, flags


@pytest.fixture(scope="module")
def server(podman: str, cpu_images: dict, tiny_qwen_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    model = readable_copy(tiny_qwen_dir, tmp_path_factory.mktemp("storage") / "model")
    container, filesystem = kserve_container(cpu_images["serve-cpu"])
    env = [f"--env={item['name']}={item['value']}" for item in container.get("env", [])]
    command = [podman, "run", "--detach", "--user", "1000", *filesystem,
               "--volume", f"{model}:{MODEL_MOUNT}:ro", "--publish", f"127.0.0.1::{PORT}", *env,
               "--entrypoint", container["command"][0], cpu_images["serve-cpu"],
               *container["command"][1:], *container["args"]]  # fmt: skip
    cid = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    try:
        mapped = subprocess.run([podman, "port", cid, str(PORT)], capture_output=True, text=True, check=True).stdout
        url = f"http://{mapped.strip().splitlines()[0]}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            state = subprocess.run([podman, "inspect", "--format", "{{.State.Running}}", cid],
                                   capture_output=True, text=True).stdout.strip()  # fmt: skip
            if state != "true" or time.monotonic() > deadline:
                logs = subprocess.run([podman, "logs", cid], capture_output=True, text=True)
                pytest.fail(f"serve container not ready (running={state}):\n{logs.stdout}{logs.stderr}")
            time.sleep(1)
        yield podman, cid, url
    finally:
        subprocess.run([podman, "rm", "--force", cid], capture_output=True)


def test_the_server_runs_as_kserve_runs_it(server) -> None:
    podman, cid, _ = server
    inspected = subprocess.run(
        [podman, "inspect", "--format", "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{json .Config.Cmd}}", cid],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    user, read_only, cmd = inspected.split(" ", 2)
    assert user == "1000" and read_only == "true"
    assert '"/mnt/models"' in cmd and '"8080"' in cmd and '"0.0.0.0"' in cmd
    # The root filesystem is really read-only (/var/tmp is world-writable on it); the home, where
    # the caches are, and /tmp, the emptyDirs, are not.
    probe = subprocess.run(
        [podman, "exec", cid, "sh", "-c", "for d in /var/tmp /home/s1 /tmp; do touch $d/x; echo $?; done"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert probe.stdout.split() == ["1", "0", "0"], probe.stdout + probe.stderr
    assert "Read-only file system" in probe.stderr


def test_kserve_v1_predict_and_openai_chat_with_a_thinking_budget(server) -> None:
    _, _, url = server
    v1 = httpx.post(f"{url}/v1/models/s1:predict", timeout=120,
                    json={"instances": [{"question": "What is 2 + 2?", "max_thinking_tokens": 6, "max_answer_tokens": 4}]})
    assert v1.status_code == 200, v1.text
    (prediction,) = v1.json()["predictions"]
    # The random test model never closes its thinking: the cap is what ends it.
    assert prediction["thinking_tokens"] == 6, prediction
    chat = httpx.post(f"{url}/openai/v1/chat/completions", timeout=120, json={
        "model": "s1", "messages": [{"role": "user", "content": "What is 2 + 2?"}],
        "max_thinking_tokens": 6, "max_tokens": 16,
    })  # fmt: skip
    assert chat.status_code == 200, chat.text
    body = chat.json()
    (choice,) = body["choices"]
    assert choice["budget"]["thinking_tokens"] == 6 and choice["budget"]["hit_cap"] is True
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 6
    assert body["usage"]["completion_tokens"] <= 16
    assert choice["message"]["reasoning_content"] and choice["message"]["content"] is not None


def test_sigterm_with_a_request_in_flight_exits_cleanly_within_the_grace_period(server) -> None:
    podman, cid, url = server
    answers: list[httpx.Response | Exception] = []

    def long_request() -> None:
        try:
            answers.append(httpx.post(f"{url}/openai/v1/chat/completions", timeout=60, json={
                "model": "s1", "messages": [{"role": "user", "content": "Think for a long time."}],
                "max_thinking_tokens": 20000, "max_tokens": 24000,
            }))  # fmt: skip
        except httpx.TransportError as error:
            answers.append(error)

    client = threading.Thread(target=long_request)
    client.start()
    time.sleep(2)  # generating by now
    started = time.monotonic()
    # `podman stop` sends SIGTERM, then SIGKILL after the grace period, as the kubelet does.
    subprocess.run([podman, "stop", "--time", str(GRACE_SECONDS), cid], capture_output=True, check=True)
    seconds = time.monotonic() - started
    client.join(timeout=30)
    exit_code = subprocess.run([podman, "inspect", "--format", "{{.State.ExitCode}}", cid],
                               capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    logs = subprocess.run([podman, "logs", cid], capture_output=True, text=True)
    assert exit_code == "0", f"exit code {exit_code}:\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}"
    assert seconds < 10, f"took {seconds:.1f} s to stop (grace {GRACE_SECONDS} s)"
    # The request in flight was answered (503, shutting down), not left hanging.
    (answer,) = answers
    assert isinstance(answer, httpx.Response) and answer.status_code == 503, answer
