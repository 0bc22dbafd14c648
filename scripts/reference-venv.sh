#!/usr/bin/env bash
# Makes the Python environment for independent cross-checks and benchmark references (test/reference/,
# bench/torch/): PyTorch 2.x CPU, open_clip, transformers (the DINOv2 and HF CLIP references), safetensors, numpy,
# and Hugging Face datasets + pyarrow (the readers that advood releases, Parquet exports and Hub pushes must
# satisfy). pip installs from whatever index it is configured with (offline where the machine has a local wheel
# store). Prints the venv's python on success.
#
# torchvision stays installed although its wheel (pulled by open_clip_torch) is built for the CUDA torch and its
# compiled ops do not load against the CPU torch ("operator torchvision::nms does not exist"): open_clip imports
# torchvision.transforms at module level, so without it open_clip does not import at all. The reference scripts
# import test/reference/torchvision_guard.py first, which lets those op registrations fail quietly; the check below
# proves that open_clip and transformers' model classes then import, before the venv is marked ready.
#
#   scripts/reference-venv.sh            creates .venv-reference/ (idempotent)
#   ADVOOD_REFERENCE_VENV=DIR            another place for it
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${ADVOOD_REFERENCE_VENV:-.venv-reference}
stamp="$venv/.advood-reference-ok"
packages=(torch open_clip_torch transformers safetensors numpy datasets pyarrow)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ]; then
  echo "$venv/bin/python"
  exit 0
fi
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "reference-venv: $python not found" >&2; exit 1; }
"$python" -m venv "$venv" >&2 || { echo "reference-venv: could not create a venv with $python (Debian: apt-get install python3-venv)" >&2; exit 1; }
"$venv/bin/python" -m pip install -q --disable-pip-version-check --retries 0 --timeout 10 "${packages[@]}" >&2 \
  || { echo "reference-venv: pip could not install ${packages[*]}" >&2; exit 1; }
PYTHONPATH=test/reference "$venv/bin/python" -c \
  'import torchvision_guard, open_clip; from transformers import CLIPModel, Dinov2Model, Dinov2WithRegistersModel' >&2 \
  || { echo "reference-venv: open_clip or transformers does not import in $venv" >&2; exit 1; }
echo "${packages[*]}" > "$stamp"
echo "$venv/bin/python"
