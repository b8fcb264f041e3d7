"""What the component bodies do besides calling s1: metrics, reports, the training fingerprint."""

from __future__ import annotations

import base64
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipelines.steps import inline_images, log_metrics, model_dir, numeric_leaves, training_fingerprint


class Metrics:
    """The slice of kfp.dsl.Metrics the steps use."""

    def __init__(self):
        self.logged = {}

    def log_metric(self, name, value):
        self.logged[name] = value


def test_numeric_leaves_flatten_and_skip_non_numbers():
    report = {"selected": 1000, "domains": {"algebra": 12, "name": "x"}, "ok": True, "nan": float("nan"), "list": [1]}
    assert numeric_leaves(report) == {"selected": 1000.0, "domains/algebra": 12.0}


def test_log_metrics_leaves_out_settings_and_sanitises_names():
    metrics = Metrics()
    log_metrics(metrics, {"config": {"n": 1000}, "accuracy at 500": 0.5, "aime24": {"max500": 0.4}})
    assert metrics.logged == {"accuracy_at_500": 0.5, "aime24/max500": 0.4}


def test_inline_images_embeds_existing_pngs(tmp_path):
    (tmp_path / "scaling.png").write_bytes(b"\x89PNG fake")
    html = '<img src="scaling.png"><img src="missing.png"><img src="https://x/y.png">'
    inlined = inline_images(html, tmp_path)
    encoded = base64.b64encode(b"\x89PNG fake").decode()
    assert f'src="data:image/png;base64,{encoded}"' in inlined
    assert 'src="missing.png"' in inlined and 'src="https://x/y.png"' in inlined


def test_training_fingerprint_names_the_result(tmp_path):
    data = tmp_path / "selected.jsonl"
    data.write_text('{"id": "a"}\n')
    base = training_fingerprint(data, "s1-32b", {"epochs": "5"}, 2, 8, "pod", "img:1")
    assert base == training_fingerprint(data, "s1-32b", {"epochs": "5"}, 2, 8, "pod", "img:1")
    # The same value typed or as text is the same setting (one serialiser, s1.train.launch).
    assert base == training_fingerprint(data, "s1-32b", {"epochs": 5}, 2, 8, "pod", "img:1")
    assert len(base) == 12 and base != training_fingerprint(data, "s1-32b", {"epochs": "4"}, 2, 8, "pod", "img:1")
    assert base != training_fingerprint(data, "s1-32b", {"epochs": "5"}, 2, 8, "pod", "img:2")
    assert base != training_fingerprint(data, "s1-32b", {"epochs": "5"}, 2, 8, "infiniband", "img:1")
    data.write_text('{"id": "b"}\n')
    assert base != training_fingerprint(data, "s1-32b", {"epochs": "5"}, 2, 8, "pod", "img:1")


def test_model_dir_prefers_the_recorded_shared_location(tmp_path):
    shared = tmp_path / "shared" / "model"
    shared.mkdir(parents=True)
    assert model_dir(SimpleNamespace(path=str(tmp_path / "artifact"), metadata={"path": str(shared)})) == shared
    # A location from another machine (e.g. the PVC path, read locally) falls back to the artifact.
    fallback = SimpleNamespace(path=str(tmp_path / "artifact"), metadata={"path": "/mnt/s1/gone"})
    assert model_dir(fallback) == Path(tmp_path / "artifact")


def test_deploy_needs_a_pvc_location():
    from pipelines.steps import deploy_step

    with pytest.raises(ValueError, match="storage_uri"):
        deploy_step(SimpleNamespace(metadata={}, path="/x"), "s1", "ns", "s1", 1, 1, 1, 10)
