#!/bin/bash
# Generate one adversarial release in parts on a Slurm cluster, then merge the parts.
#
# Each array task attacks a contiguous block of the OOD source: advood reads SLURM_ARRAY_TASK_ID,
# SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT itself, so no --shard flag is needed. Every part writes its
# own release directory; a task that is preempted or killed resumes where it stopped when Slurm requeues it
# (same command, same --out), and produces the same bytes as an uninterrupted run.
#
#   sbatch examples/slurm-generate-array.sh           # the 8 parts
#   sbatch --dependency=afterok:<jobid> --wrap \
#     "npx advood release merge $OUT_ROOT/part-* --out $OUT_ROOT/merged && npx advood release verify $OUT_ROOT/merged"
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
mkdir -p "$OUT_ROOT" logs

npx advood generate \
  --target vit-b-32 \
  --id "$ID_SOURCE" \
  --ood "$OOD_SOURCE" \
  --attack paper-smooth \
  --seed 0 \
  --out "$OUT_ROOT/part-$(printf '%02d' "$SLURM_ARRAY_TASK_ID")" \
  --json
