#!/usr/bin/env bash
# Makes the Python environment for independent cross-checks and benchmark references (test/reference/,
# bench/torch/): PyTorch 2.x CPU, open_clip, safetensors, numpy, and Hugging Face datasets + pyarrow (the readers
# that advood releases, Parquet exports and Hub pushes must satisfy). pip installs from whatever index it is
# configured with (offline where the machine has a local wheel store). Prints the venv's python on success.
#
#   scripts/reference-venv.sh            creates .venv-reference/ (idempotent)
#   ADVOOD_REFERENCE_VENV=DIR            another place for it
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${ADVOOD_REFERENCE_VENV:-.venv-reference}
stamp="$venv/.advood-reference-ok"
packages=(torch open_clip_torch safetensors numpy datasets pyarrow)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ]; then
  echo "$venv/bin/python"
  exit 0
fi
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "reference-venv: $python not found" >&2; exit 1; }
"$python" -m venv "$venv" >&2 || { echo "reference-venv: could not create a venv with $python (Debian: apt-get install python3-venv)" >&2; exit 1; }
"$venv/bin/python" -m pip install -q --disable-pip-version-check --retries 0 --timeout 10 "${packages[@]}" >&2 \
  || { echo "reference-venv: pip could not install ${packages[*]}" >&2; exit 1; }
echo "${packages[*]}" > "$stamp"
echo "$venv/bin/python"
