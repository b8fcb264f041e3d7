#!/usr/bin/env bash
# Smoke-test built images in themselves: as uid 1000, without a network.
# Usage: DOCKER=podman images/smoke.sh [--present] REGISTRY TAG IMAGE...
#        (IMAGE: base-cpu, curate, ..., train; serve-cpu, evaluate-cpu, train-cpu for the CPU
#        flavours, tagged TAG-cpu). --present skips images that are not built (make smoke).
#
# Per image: its size and build time (images/.build-times, written by the Makefile), its entry
# point's --help, then images/smoke_checks.py inside it (KFP's executor, the pinned versions,
# and per kind CUDA torch, vLLM with the project's processor, DeepSpeed's op report).
set -euo pipefail
docker=${DOCKER:-docker}
build_times=${BUILD_TIMES:-$(dirname "$0")/.build-times}
present_only=0
if [ "${1:-}" = --present ]; then present_only=1; shift; fi
registry=${1:?usage: $0 [--present] REGISTRY TAG IMAGE...}; tag=${2:?}; shift 2
here=$(cd "$(dirname "$0")" && pwd)
pins=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/constraints.txt" | tr '\n' ' ')

failed=() checked=0
for name in "$@"; do
  case $name in
    serve-cpu|evaluate-cpu|train-cpu) ref="$registry/s1-${name%-cpu}:$tag-cpu" ;;
    *) ref="$registry/s1-$name:$tag" ;;
  esac
  case $name in
    base-gpu|serve|evaluate) checks=(--cuda --vllm) ;;
    train) checks=(--cuda --deepspeed) ;;
    train-cpu) checks=(--deepspeed) ;;
    *) checks=() ;;
  esac
  if ! "$docker" image inspect "$ref" >/dev/null 2>&1; then
    if [ "$present_only" = 1 ]; then echo "== $name: $ref not built, skipped"; continue; fi
    echo "== $name: $ref is not built (make -C images build-$name)"; failed+=("$name"); continue
  fi
  size=$("$docker" image inspect --format '{{.Size}}' "$ref")
  seconds=$(awk -v n="$name" '$1 == n {s = $2} END {print s == "" ? "?" : s}' "$build_times" 2>/dev/null || echo "?")
  echo "== $name: $ref  size $((size / 1000000)) MB  last build ${seconds} s"
  run=("$docker" run --rm --network=none --user 1000)
  entrypoint=$("$docker" image inspect --format '{{json .Config.Entrypoint}}' "$ref")
  # The default command is each image's --help; an image with an entry point takes --help as args.
  if [ "$entrypoint" = null ] || [ "$entrypoint" = "[]" ]; then help=("${run[@]}" "$ref"); else help=("${run[@]}" "$ref" --help); fi
  if "${help[@]}" >/tmp/s1-smoke-help.$$ 2>&1 && grep -q -i usage /tmp/s1-smoke-help.$$; then
    echo "ok entry point: $(grep -m1 -i usage /tmp/s1-smoke-help.$$)"
  else
    echo "FAIL entry point --help:"; cat /tmp/s1-smoke-help.$$; failed+=("$name"); rm -f /tmp/s1-smoke-help.$$; continue
  fi
  rm -f /tmp/s1-smoke-help.$$
  if "${run[@]}" -i --env "S1_PINS=$pins" --entrypoint python3 "$ref" - "${checks[@]}" < "$here/smoke_checks.py"; then
    checked=$((checked + 1))
  else
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then echo "smoke FAILED: ${failed[*]}"; exit 1; fi
if [ "$checked" = 0 ]; then echo "smoke: no image checked (build them first: make -C images build-cpu)"; exit 1; fi
echo "smoke passed: $checked images"
