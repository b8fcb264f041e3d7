"""List flags accumulate: repeated and space-separated forms give the same list, on every command."""

from __future__ import annotations

import argparse

import pytest

from s1.cli import build_parser
from s1.cli_args import add_list_argument


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_list_argument(parser, "--pool")
    add_list_argument(parser, "--budgets", item_type=int, commas=True)
    return parser


def test_repeated_space_and_comma_forms_accumulate():
    parser = _parser()
    assert parser.parse_args(["--pool", "a", "--pool", "b"]).pool == ["a", "b"]
    assert parser.parse_args(["--pool", "a", "b", "--pool", "c"]).pool == ["a", "b", "c"]
    assert parser.parse_args(["--budgets", "1,2", "3", "--budgets", "4"]).budgets == [1, 2, 3, 4]
    assert parser.parse_args([]).pool is None  # not given: a config file's value still applies
    with pytest.raises(SystemExit):
        parser.parse_args(["--budgets", "x"])


@pytest.mark.parametrize(("argv", "dest", "expected"), [
    (["curate", "--pool", "a", "--pool", "b", "c", "--eval-set", "x", "--eval-set", "y"],
     ("pool", "eval_sets"), (["a", "b", "c"], ["x", "y"])),
    (["curate", "--pool", "p", "--attempt-model", "m1", "--attempt-model", "m2", "m3"],
     ("attempt_models",), (["m1", "m2", "m3"],)),
    (["evaluate", "--model", "m", "--benchmark", "aime24", "--benchmark", "math500", "gpqa_diamond",
      "--budgets", "512,1024", "--budgets", "2048", "--num-ignore", "0", "2"],
     ("benchmark", "budgets", "num_ignore"),
     (["aime24", "math500", "gpqa_diamond"], ["512", "1024", "2048"], [0, 2])),
    (["pipeline", "run-local", "--out", "o", "--budgets", "8", "16", "--budgets", "32,64",
      "--set", "a=1", "b=2", "--set", "c=3"],
     ("budgets", "overrides"), ([8, 16, 32, 64], ["a=1", "b=2", "c=3"])),
    (["pipeline", "submit", "--host", "h", "--param", "n=1", "budgets=[1,2]", "--param", "seed=3"],
     ("params",), (["n=1", "budgets=[1,2]", "seed=3"],)),
    (["train", "--recipe", "r", "--data", "d", "--out", "o", "--set", "a=1", "b=2", "--set", "c=3"],
     ("overrides",), (["a=1", "b=2", "c=3"],)),
    (["pool", "synth", "--n", "1", "--out", "p", "--domains", "counting=3,geometry", "--domains", "x"],
     ("domains",), (["counting=3", "geometry", "x"],)),
])

def test_every_command_accumulates(argv, dest, expected):
    args = build_parser().parse_args(argv)
    assert tuple(getattr(args, name) for name in dest) == expected


def test_the_training_worker_accumulates_overrides():
    from s1.train.worker import parse_args

    args = parse_args(["--recipe", "r", "--data", "d", "--out", "o", "--set", "a=1", "b=2", "--set", "c=3"])
    assert args.overrides == ["a=1", "b=2", "c=3"]
