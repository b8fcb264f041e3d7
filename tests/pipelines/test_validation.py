"""CRD openAPIV3Schema -> strict JSON Schema: the conversions the offline validation relies on."""

from __future__ import annotations

import jsonschema

from pipelines.validation import to_json_schema


def _valid(schema: dict, value) -> bool:
    return jsonschema.Draft7Validator(to_json_schema(schema)).is_valid(value)


def test_properties_become_closed():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert _valid(schema, {"a": "x"}) and not _valid(schema, {"a": "x", "b": 1})


def test_preserve_unknown_fields_stays_open():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "x-kubernetes-preserve-unknown-fields": True}
    assert _valid(schema, {"a": "x", "b": 1})


def test_maps_keep_their_value_schema():
    schema = {"type": "object", "additionalProperties": {"type": "string"}}
    assert _valid(schema, {"any": "x"}) and not _valid(schema, {"any": 1})


def test_int_or_string():
    schema = {"type": "object", "properties": {"q": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}}}  # fmt: skip
    assert _valid(schema, {"q": 8}) and _valid(schema, {"q": "8Gi"}) and not _valid(schema, {"q": 1.5})
    bare = {"type": "object", "properties": {"q": {"x-kubernetes-int-or-string": True}}}
    assert _valid(bare, {"q": 8}) and _valid(bare, {"q": "8"}) and not _valid(bare, {"q": [8]})


def test_nullable():
    schema = {"type": "object", "properties": {"a": {"type": "string", "nullable": True}}}
    assert _valid(schema, {"a": None}) and not _valid(schema, {"a": 3})


def test_command_line_reports_each_bad_object(tmp_path, crd_dir, capsys):
    import yaml

    from pipelines.inferenceservice import InferenceServiceSpec, build_inferenceservice
    from pipelines.pytorchjob import TrainingJobSpec, build_pytorchjob
    from pipelines.validation import main

    good = build_pytorchjob(TrainingJobSpec(name="good"))
    bad = build_pytorchjob(TrainingJobSpec(name="bad"))
    bad["spec"]["runPolicy"]["backofLimit"] = 3
    service = build_inferenceservice(InferenceServiceSpec(name="s1", storage_uri="pvc://s1-data/model"))
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all([good, bad, service, other]))
    assert main(["--crd-dir", str(crd_dir), str(path)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert "PyTorchJob/bad" in line and "'backofLimit' was unexpected" in line
    path.write_text(yaml.safe_dump_all([good, service]))
    assert main(["--crd-dir", str(crd_dir), str(path)]) == 0
