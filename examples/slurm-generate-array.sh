#!/bin/bash
# Generate one adversarial release in parts on a Slurm cluster, then merge the parts (examples/slurm-merge.sh).
#
# Each array task attacks a contiguous run of whole batches of the OOD source: advood reads SLURM_ARRAY_TASK_ID,
# _MIN, _STEP and _COUNT itself (stepped arrays such as --array=0-14:2 work), so no --shard flag is needed. Every
# part writes its own release directory, and the merged release holds the same rows, byte for byte, as one job
# over the whole source. Requeue at any moment is safe: SIGTERM stops a task after its batch in flight, a requeued
# task resumes where it stopped (on this node or another: the lock names the array task), and a task requeued
# after it finished checks its part and exits 0, so the afterok merge still runs.
#
#   mkdir -p logs
#   job=$(sbatch --parsable examples/slurm-generate-array.sh)             # the 8 parts
#   sbatch --dependency=afterok:$job examples/slurm-merge.sh              # merge and verify once all succeeded
#
# To rerun one task on its own (sbatch --array=3 …), give it its part, which it cannot tell from a one-task
# array: ADVOOD_SHARD=3/8 sbatch --array=3 examples/slurm-generate-array.sh (the refusal without it names it).
#
# Every setting below can be overridden from the environment of sbatch (it exports it to the job).
#
#SBATCH --job-name=advood-generate
#SBATCH --array=0-7
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=logs/advood-%A_%a.out
# For a GPU partition add e.g. "#SBATCH --gres=gpu:1" and install @tensorflow/tfjs-node-gpu; advood picks it.
set -euo pipefail

# ImageFolder trees (or any source advood reads); the paper's setup: CIFAR-100 train as ID, CIFAR-10 test as OOD.
ID_SOURCE=${ID_SOURCE:-$PWD/data/cifar100/train}
OOD_SOURCE=${OOD_SOURCE:-$PWD/data/cifar10/test}
OUT_ROOT=${OUT_ROOT:-$PWD/releases/cifar10-vs-cifar100-smooth}
TARGET=${TARGET:-vit-b-32}
ATTACK=${ATTACK:-paper-smooth}
SEED=${SEED:-0}
# How advood is started (e.g. "node /opt/advood/bin/advood.mjs"), and more generate flags (e.g. "--n 100 --steps 50").
ADVOOD=${ADVOOD:-npx advood}
ADVOOD_GENERATE_ARGS=${ADVOOD_GENERATE_ARGS:-}
mkdir -p "$OUT_ROOT"

# shellcheck disable=SC2086 # ADVOOD and ADVOOD_GENERATE_ARGS are word lists
exec $ADVOOD generate \
  --target "$TARGET" \
  --id "$ID_SOURCE" \
  --ood "$OOD_SOURCE" \
  --attack "$ATTACK" \
  --seed "$SEED" \
  ${ADVOOD_SHARD:+--shard "$ADVOOD_SHARD"} \
  $ADVOOD_GENERATE_ARGS \
  --out "$OUT_ROOT/part-$(printf '%02d' "$SLURM_ARRAY_TASK_ID")" \
  --json
