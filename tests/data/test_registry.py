"""The dataset registry: one YAML per dataset, one reference syntax for curation and evaluation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from s1.data.registry import DatasetSpec, FieldMap, dataset, registry, resolve


def _bare(location: str) -> DatasetSpec:
    return DatasetSpec(name="bare", location=location)


def test_the_three_reference_forms(tmp_path):
    assert resolve("math500", _bare) == registry()["math500"]
    mirrored = resolve("math500=/mirror/math500.parquet", _bare)
    assert mirrored == replace(registry()["math500"], location="/mirror/math500.parquet")
    assert resolve("org/some-dataset", _bare).name == "bare"  # a hub id, not NAME=...
    own = tmp_path / "math500"
    own.write_text("{}\n")
    assert resolve(str(own), _bare).name == "bare"  # an existing path wins over a name


@pytest.mark.parametrize(("ref", "message"), [
    ("nosuch=file.jsonl", "unknown dataset 'nosuch'"),
    ("agieval_math", "has no default location; give agieval_math=FILE"),
    ("math500=", "needs a location"),
])
def test_bad_references_say_why(ref, message):
    with pytest.raises(ValueError, match=message):
        resolve(ref, _bare)


def test_a_dataset_of_your_own_in_yaml(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nkind: choice\nfields: {question: q, answer: a, incorrect: [w1, w2]}\n")
    spec = resolve(f"{path}=data.csv", _bare)
    assert (spec.name, spec.location, spec.fields.incorrect) == ("mine", "data.csv", ("w1", "w2"))
    path.write_text("name: mine\nkind: choice\nfields: {question: q}\n")
    with pytest.raises(ValueError, match="a choice dataset needs fields.incorrect"):
        dataset(str(path))
    path.write_text("name: mine\nfields: {question: q, answr: a}\n")
    with pytest.raises(ValueError, match=r"unknown field roles \['answr'\]"):
        dataset(str(path))


def test_every_registered_dataset_maps_a_question():
    for name, spec in registry().items():
        assert spec.fields.question and spec.name == name
    assert FieldMap.from_dict({"question": "problem"}).columns() == {"question": "problem"}
