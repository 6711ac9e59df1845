#!/usr/bin/env bash
# GPU check of polcg on the offline GPU machine (usage and steps: benchmarks/gpu_check.py's docstring).
#     bash benchmarks/gpu_check.sh WHEEL_FOLDER_OR_TAR [gpu_check.py options]
# Installs the wheels packed by ../shared/tools/gpu-wheels (a folder of .whl, or the tar joined from
# its chunks, e.g. /tmp/wheels.tar) into /tmp/site with --no-index (skipped when /tmp/site already
# holds them), records nvidia-smi, then runs benchmarks/gpu_check.py with what is left of
# GPU_CHECK_TOTAL_S (default 705 s, for a device call with timeout_s 720) and prints where the JSON went.
set -uo pipefail
start=$SECONDS
total=${GPU_CHECK_TOTAL_S:-705}
src=${1:?usage: bash benchmarks/gpu_check.sh WHEEL_FOLDER_OR_TAR [gpu_check.py options]}
shift
cd "$(dirname "$0")/.." || exit 1
site=/tmp/site
results=benchmarks/results
mkdir -p "$results"

if [ -d "$site/gpu4pyscf" ] && [ -d "$site/pyscf" ] && [ -d "$site/openmm" ]; then
  echo "[gpu_check.sh] wheels already installed in $site"
else
  if [ -d "$src" ]; then
    wheels=$src
  else
    rm -rf /tmp/w && mkdir -p /tmp/w && tar xf "$src" -C /tmp/w || { echo "cannot unpack $src"; exit 2; }
    wheels=/tmp/w
  fi
  ls "$wheels"/*.whl > /dev/null || { echo "no .whl in $wheels"; exit 2; }
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$site" "$wheels"/*.whl \
    || { echo "pip install failed"; exit 2; }
fi
export PYTHONPATH=$site:$PWD/src
echo "[gpu_check.sh] installed after $((SECONDS - start)) s: $(ls -d "$site"/*.dist-info | xargs -n1 basename | tr '\n' ' ')"

nvidia-smi > "$results/gpu_check_nvidia-smi.txt" 2>&1 || echo "[gpu_check.sh] nvidia-smi failed"
head -20 "$results/gpu_check_nvidia-smi.txt"
[ -n "${OUT:-}" ] && [ -d "${OUT:-}" ] && cp "$results/gpu_check_nvidia-smi.txt" "$OUT/"

left=$((total - (SECONDS - start)))
budget=$((left - 15))
[ "$budget" -gt 690 ] && budget=690
echo "[gpu_check.sh] running gpu_check.py with --budget-s $budget (hard stop after $left s)"
timeout --kill-after=5 "$left" python3 benchmarks/gpu_check.py --budget-s "$budget" "$@"
rc=$?
json=$results/gpu_check.json
for a in "$@"; do [ "$a" = "--smoke" ] && json=/tmp/polcg_gpu_check/gpu_check_smoke.json; done
for ((i = 1; i < $#; i++)); do [ "${!i}" = "--out" ] && j=$((i + 1)) && json=${!j}; done
case "$json" in /*) ;; *) json=$PWD/$json ;; esac
if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then  # the device tool brings back what is under $OUT
  [ -f "$json" ] && cp "$json" "$OUT/"
  [ -d /tmp/polcg_gpu_check/logs ] && cp -r /tmp/polcg_gpu_check/logs "$OUT/gpu_check_logs"
  mkdir -p "$OUT/gpu_check_tasks" && cp /tmp/polcg_gpu_check/*.json "$OUT/gpu_check_tasks/" 2>/dev/null
fi
echo "[gpu_check.sh] gpu_check.py exit $rc after $((SECONDS - start)) s; JSON: $json"
[ -f "$json" ] && python3 -c "import json, sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(',', ':'))[:9000])" "$json"
exit $rc
