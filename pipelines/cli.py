"""`s1 pipeline {compile,run-local,submit,manifests}`: the s1 Kubeflow pipeline from the command line.

Usage: s1 pipeline run-local --out runs/local

Mounted into `s1` through the `s1.commands` entry-point group (pyproject.toml).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from s1.cli_args import add_list_argument

from pipelines.cluster import SERVICE_ACCOUNT

SPEC_PATH = Path(__file__).resolve().parent / "s1_pipeline.yaml"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    pipeline = subparsers.add_parser("pipeline", help="compile, run locally or submit the s1 Kubeflow pipeline")
    actions = pipeline.add_subparsers(dest="pipeline_command", required=True)

    compile_ = actions.add_parser(
        "compile",
        help="compile the pipeline to its KFP IR YAML (the committed spec by default)",
        description="Usage: s1 pipeline compile --out pipelines/s1_pipeline.yaml",
    )
    compile_.add_argument("--out", type=Path, default=SPEC_PATH, help=f"YAML to write (default {SPEC_PATH.name})")
    compile_.add_argument("--kubernetes-manifest", action="store_true",
                          help="write Pipeline + PipelineVersion objects (KFP's Kubernetes-native API, GitOps)")  # fmt: skip
    compile_.add_argument("--version", default=None, help="PipelineVersion name with --kubernetes-manifest")
    compile_.add_argument("--namespace", default=None, help="namespace of the objects with --kubernetes-manifest")
    compile_.set_defaults(func=_compile)

    local = actions.add_parser(
        "run-local",
        help="run the whole pipeline on this machine with kfp.local (no cluster; Docker optional)",
        description="Usage: s1 pipeline run-local --out runs/local [--model tiny-qwen] [--runner docker]",
    )
    local.add_argument("--out", type=Path, required=True, help="folder for inputs, artifacts and the summary")
    local.add_argument("--model", choices=["smollm2", "tiny-qwen"], default="smollm2",
                       help="smollm2: a real 135M instruct model (minutes); tiny-qwen: random 10M (fast, for tests)")  # fmt: skip
    local.add_argument("--pool-size", type=int, help="synthetic pool questions (default: per model, 200 for smollm2)")
    local.add_argument("--n", type=int, help="questions curation selects (default: per model, 32 for smollm2)")
    local.add_argument("--eval-size", type=int, help="held-out synthetic benchmark questions (default: per model)")
    add_list_argument(local, "--budgets", item_type=int, commas=True, help="max thinking tokens to evaluate at (default: per model)")
    local.add_argument("--seed", type=int, default=0, help="pool and selection seed")
    add_list_argument(local, "--set", dest="overrides", default=[], metavar="KEY=VALUE",
                       help="training recipe override, repeatable (e.g. --set epochs=1)")  # fmt: skip
    local.add_argument("--runner", choices=["subprocess", "docker"], default="subprocess",
                       help="subprocess: this environment; docker: each component in its own image through "
                       "DOCKER_HOST (Docker or podman's socket; build them with make -C images build-cpu)")  # fmt: skip
    local.add_argument("--curation-engine", choices=["transformers", "vllm"], default="transformers",
                       help="engine of the difficulty filter's local attempt model (vllm: vLLM's CPU build)")
    local.add_argument("--json", action="store_true", help="print the summary as JSON")
    local.set_defaults(func=_run_local)

    submit = actions.add_parser(
        "submit",
        help="start a run on a Kubeflow Pipelines server (wraps kfp.Client)",
        description="Usage: s1 pipeline submit --host https://kubeflow.example.com/pipeline "
        "--experiment s1 --param n=1000",
    )
    submit.add_argument("--host", required=True, help="KFP API endpoint (e.g. http://localhost:8080)")
    submit.add_argument("--package", type=Path, default=SPEC_PATH, help="compiled pipeline YAML")
    submit.add_argument("--experiment", default="s1", help="experiment name (created if missing)")
    submit.add_argument("--run-name", default=None, help="run name (default: pipeline name and time)")
    submit.add_argument("--namespace", default=None, help="Kubeflow profile namespace (multi-user mode)")
    add_list_argument(submit, "--param", dest="params", default=[], metavar="KEY=VALUE",
                        help="pipeline parameter; VALUE is JSON when it parses (lists, numbers), else text")  # fmt: skip
    submit.add_argument("--service-account", default=SERVICE_ACCOUNT,
                        help=f"Kubernetes service account the run's pods use (default {SERVICE_ACCOUNT}, "
                        "bound to the Roles in manifests/base/rbac.yaml)")
    submit.add_argument("--no-cache", action="store_true", help="run every step even if a cached result exists")
    submit.add_argument("--wait", type=int, default=0, metavar="SECONDS",
                        help="wait up to SECONDS for the run to finish; exit 1 unless it succeeded")  # fmt: skip
    submit.add_argument("--json", action="store_true", help="print the run id and URL as JSON")
    submit.set_defaults(func=_submit)

    manifests = actions.add_parser(
        "manifests",
        help="render the kustomize base and predictor components (manifests/) from the Python builders",
        description="Usage: s1 pipeline manifests --out manifests",
    )
    manifests.add_argument("--out", type=Path, default=None,
                           help="manifests folder to write base/ and predictors/ in (default manifests)")
    manifests.set_defaults(func=_manifests)


def parse_params(pairs: list[str]) -> dict:
    """``key=value`` pairs; values that parse as JSON (``[500,1000]``, ``8``, ``true``) are typed."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param {pair!r}: expected KEY=VALUE")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def known_parameters() -> dict:
    """The pipeline's parameters and their defaults, from the pipeline function itself."""
    import inspect

    from pipelines.pipeline import s1_pipeline

    signature = inspect.signature(s1_pipeline.pipeline_func)
    return {name: parameter.default for name, parameter in signature.parameters.items()}


def parameter_choices() -> dict[str, tuple[str, ...]]:
    """The pipeline parameters that name one of a fixed set, and that set (each from the code
    that acts on it): a typo is refused at submit, not hours later when its step starts."""
    from pipelines.cluster import network_names
    from pipelines.inferenceservice import PREDICTORS
    from pipelines.launchers import LAUNCHER_NAMES
    from s1.generation.engine import ENGINE_NAMES

    return {"curation_engine": ENGINE_NAMES, "eval_engine": ENGINE_NAMES, "train_launcher": LAUNCHER_NAMES,
            "train_network": tuple(network_names()), "predictor": PREDICTORS}  # fmt: skip


def compile_pipeline(out: Path, kubernetes_manifest: bool = False, version: str | None = None,
                     namespace: str | None = None) -> Path:  # fmt: skip
    """Compile to KFP's IR YAML, or to Pipeline/PipelineVersion objects for `kubectl apply`."""
    from kfp import compiler
    from kfp.compiler.compiler_utils import KubernetesManifestOptions

    from pipelines.pipeline import PIPELINE_NAME, s1_pipeline

    out.parent.mkdir(parents=True, exist_ok=True)
    options = None
    if kubernetes_manifest:
        options = KubernetesManifestOptions(
            pipeline_name=PIPELINE_NAME,
            pipeline_version_name=version or f"{PIPELINE_NAME}-{_version_label()}",
            namespace=namespace,
            include_pipeline_manifest=True,
        )
    compiler.Compiler().compile(
        s1_pipeline, str(out), kubernetes_manifest_options=options, kubernetes_manifest_format=kubernetes_manifest
    )
    return out


def _version_label() -> str:
    import s1

    return s1.__version__.replace(".", "-").replace("+", "-").lower()


def _compile(args: argparse.Namespace) -> int:
    out = compile_pipeline(args.out, args.kubernetes_manifest, args.version, args.namespace)
    print(f"compiled the s1 pipeline to {out}")
    return 0


def _run_local(args: argparse.Namespace) -> int:
    from pipelines.local_run import LocalRunConfig, run_local

    overrides = {}
    for pair in args.overrides:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE")
        overrides[key] = value
    config = LocalRunConfig.for_model(
        args.out,
        args.model,
        pool_size=args.pool_size,
        n=args.n,
        eval_size=args.eval_size,
        budgets=tuple(args.budgets) if args.budgets else None,
        seed=args.seed,
        train_overrides=overrides,
        runner=args.runner,
        curation_engine=args.curation_engine,
    )
    # kfp.local prints every task's log to stdout; with --json, stdout carries only the summary.
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        result = run_local(config)
    if args.json:
        print(json.dumps(result))
        return 0
    paths = result["paths"]
    print(f"\ns1 pipeline finished locally in {result['seconds']:.0f} s (kfp.local run: {result['run']})")
    for name, label in (
        ("dataset", "curated dataset (selected.jsonl, report, plots)"),
        ("model", "fine-tuned model (safetensors + tokenizer)"),
        ("evaluation", "evaluation (samples.jsonl, metrics.json)"),
        ("plot", "accuracy vs thinking budget"),
        ("curation_report.html", "curation report"),
        ("evaluation_report.html", "evaluation report"),
        ("metrics", "metrics of every step"),
    ):
        if name in paths:
            print(f"  {label:<48} {paths[name]}")
    return 0


def _submit(args: argparse.Namespace) -> int:
    import kfp

    if not args.package.is_file():
        raise FileNotFoundError(f"pipeline package {args.package} not found; run `s1 pipeline compile` first")
    params = parse_params(args.params)
    unknown = sorted(set(params) - set(known_parameters()))
    if unknown:
        raise ValueError(f"unknown pipeline parameters {unknown}; known: {sorted(known_parameters())}")
    for name, choices in parameter_choices().items():
        if name in params and params[name] not in choices:
            raise ValueError(f"--param {name}={params[name]!r}: expected one of {', '.join(choices)}")
    client = kfp.Client(host=args.host, namespace=args.namespace)
    # kfp.Client prints the experiment and run links; with --json, stdout carries only JSON.
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        run = client.create_run_from_pipeline_package(
            str(args.package),
            arguments=params,
            run_name=args.run_name,
            experiment_name=args.experiment,
            namespace=args.namespace,
            enable_caching=False if args.no_cache else None,
            service_account=args.service_account or None,
        )
    url = f"{args.host.rstrip('/')}/#/runs/details/{run.run_id}"
    result = {"run_id": run.run_id, "url": url}
    print(json.dumps(result) if args.json else f"started run {run.run_id}: {url}", flush=True)
    if not args.wait:
        return 0
    state = str(client.wait_for_run_completion(run.run_id, timeout=args.wait).state)
    print(json.dumps({**result, "state": state}) if args.json else f"run {run.run_id} finished: {state}")
    return 0 if state.upper().endswith("SUCCEEDED") else 1


def _manifests(args: argparse.Namespace) -> int:
    from pipelines.manifests import MANIFESTS_DIR, write_manifests

    for path in write_manifests(args.out or MANIFESTS_DIR):
        print(f"wrote {path}")
    return 0
