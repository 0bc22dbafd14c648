#!/bin/bash
# Merge the parts written by examples/slurm-generate-array.sh into one release and verify it. Submit it with an
# afterok dependency on the array, so it starts only once every task has succeeded:
#
#   job=$(sbatch --parsable examples/slurm-generate-array.sh)
#   sbatch --dependency=afterok:$job examples/slurm-merge.sh
#
# The merge writes a side folder and renames it into place, so a merge job that is itself killed or requeued
# starts over cleanly, and one requeued after it finished only verifies.
#
#SBATCH --job-name=advood-merge
#SBATCH --cpus-per-task=1
#SBATCH --mem=4G
#SBATCH --requeue
#SBATCH --output=logs/advood-merge-%j.out
set -euo pipefail

OUT_ROOT=${OUT_ROOT:-$PWD/releases/cifar10-vs-cifar100-smooth}
ADVOOD=${ADVOOD:-npx advood}

# shellcheck disable=SC2086 # ADVOOD is a word list
if [ ! -e "$OUT_ROOT/merged/manifest.json" ]; then
  rm -rf "$OUT_ROOT/merged.partial"
  $ADVOOD release merge "$OUT_ROOT"/part-* --out "$OUT_ROOT/merged.partial"
  mv "$OUT_ROOT/merged.partial" "$OUT_ROOT/merged"
fi
# shellcheck disable=SC2086
$ADVOOD release verify "$OUT_ROOT/merged"
