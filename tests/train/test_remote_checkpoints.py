"""Checkpoints mirrored to an object store (fsspec ``file://`` standing in for ``s3://``)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from fsspec.implementations.local import LocalFileSystem

from s1.train.checkpoints import (
    MARKER,
    checkpoint_dirs,
    download_latest_checkpoint,
    mark_complete,
    remote_checkpoints,
    upload_checkpoint,
)


def fake_checkpoint(out: Path, step: int, complete: bool = True) -> Path:
    """A checkpoint folder shaped like the Trainer's: weights, a nested shard folder, state."""
    path = out / f"checkpoint-{step}"
    (path / "global_step").mkdir(parents=True)
    (path / "model.safetensors").write_bytes(bytes([step]) * 64)
    (path / "global_step" / "zero_pp_rank_0_model_states.pt").write_bytes(b"shard")
    (path / "trainer_state.json").write_text(f'{{"global_step": {step}}}')
    if complete:
        mark_complete(path, step, world_size=2)
    return path


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_only_complete_checkpoints_are_uploaded(tmp_path):
    incomplete = fake_checkpoint(tmp_path / "out", 3, complete=False)
    with pytest.raises(ValueError, match=MARKER):
        upload_checkpoint(incomplete, f"file://{tmp_path}/remote", keep=2)
    assert not (tmp_path / "remote").exists()


def test_upload_copies_every_file_and_writes_the_marker_last(tmp_path, monkeypatch):
    written: list[str] = []
    put_file = LocalFileSystem.put_file

    def recording_put_file(self, lpath, rpath, *args, **kwargs):
        written.append(rpath)
        return put_file(self, lpath, rpath, *args, **kwargs)

    monkeypatch.setattr(LocalFileSystem, "put_file", recording_put_file)
    checkpoint = fake_checkpoint(tmp_path / "out", 4)
    target = upload_checkpoint(checkpoint, f"file://{tmp_path}/remote", keep=2)

    assert Path(target) == tmp_path / "remote" / "checkpoint-4"
    assert files_under(Path(target)) == files_under(checkpoint)
    assert len(written) == 4 and written[-1].endswith(f"checkpoint-4/{MARKER}")


def test_remote_rotation_keeps_the_newest_complete_and_drops_dead_uploads(tmp_path):
    uri = f"file://{tmp_path}/remote"
    fake_checkpoint(tmp_path / "remote", 1, complete=False)  # an upload that died half-way
    for step in (2, 3, 4):
        upload_checkpoint(fake_checkpoint(tmp_path / "out", step), uri, keep=2)
    assert [(step, done) for step, _, done in remote_checkpoints(uri)] == [(3, True), (4, True)]


def test_download_ignores_a_half_uploaded_checkpoint(tmp_path):
    uri = f"file://{tmp_path}/remote"
    upload_checkpoint(fake_checkpoint(tmp_path / "src", 2), uri, keep=2)
    fake_checkpoint(tmp_path / "remote", 5, complete=False)  # newer, but its marker never came
    out = tmp_path / "fresh"
    out.mkdir()

    fetched = download_latest_checkpoint(uri, out)

    assert fetched == out / "checkpoint-2"
    assert files_under(fetched) == files_under(tmp_path / "src" / "checkpoint-2")
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-2"]  # no staging left behind


def test_download_without_a_complete_remote_checkpoint_does_nothing(tmp_path):
    assert download_latest_checkpoint(f"file://{tmp_path}/missing", tmp_path) is None
    fake_checkpoint(tmp_path / "remote", 7, complete=False)
    assert download_latest_checkpoint(f"file://{tmp_path}/remote", tmp_path / "out") is None


def test_upload_runs_off_the_training_path_and_rotation_waits_for_it(tmp_path, monkeypatch):
    """on_save returns (ranks go back to training) while the upload is still running."""
    from s1.train import checkpoints

    started, release = threading.Event(), threading.Event()
    real_upload = checkpoints.upload_checkpoint

    def held_upload(checkpoint, uri, keep):
        started.set()
        assert release.wait(30)
        return real_upload(checkpoint, uri, keep)

    monkeypatch.setattr(checkpoints, "upload_checkpoint", held_upload)
    out, uri = tmp_path / "out", f"file://{tmp_path}/remote"
    callback = checkpoints.CompleteCheckpointCallback(out, save_total_limit=1, checkpoint_uri=uri)
    for step in (1, 2, 3):
        fake_checkpoint(out, step, complete=False)
        callback.on_save(SimpleNamespace(world_size=1), SimpleNamespace(global_step=step, is_world_process_zero=True), None)
    assert started.wait(30)
    assert remote_checkpoints(uri) == []  # nothing up yet, and every save already returned
    # Marked complete at once; not rotated away while the upload may still read it.
    assert [(step, checkpoints.is_complete(path)) for step, path in checkpoint_dirs(out)] == [(1, True), (2, True), (3, True)]
    release.set()
    callback.wait_for_uploads()
    # Checkpoint 2 was rotated away while queued (superseded by 3): skipped, not an error.
    assert [(step, done) for step, _, done in remote_checkpoints(uri)] == [(3, True)]
    assert [step for step, _ in checkpoint_dirs(out)] == [3]


@pytest.mark.slow
def test_fresh_output_folder_resumes_from_the_remote(tmp_path, train_data, tiny_qwen_dir):
    """A real in-process run mirrors its checkpoints; a run on an empty volume picks them up."""
    from s1.train.run import train

    uri = f"file://{tmp_path}/remote"
    settings = {"model": str(tiny_qwen_dir), "checkpoint_uri": uri, "save_steps": 1}
    first = train("tiny-qwen", train_data, tmp_path / "first", {**settings, "max_steps": 2})
    assert first["steps"] == 2 and first["resumed_from"] is None
    assert [(step, done) for step, _, done in remote_checkpoints(uri)] == [(1, True), (2, True)]
    fake_checkpoint(tmp_path / "remote", 9, complete=False)  # a dead upload must not be resumed

    second = train("tiny-qwen", train_data, tmp_path / "second", {**settings, "max_steps": 3})

    assert second["resumed_from"] == str(tmp_path / "second" / "checkpoint-2")
    assert second["steps"] == 3
    assert [(step, done) for step, _, done in remote_checkpoints(uri)] == [(2, True), (3, True)]
    assert (tmp_path / "second" / "model" / "model.safetensors").is_file()
