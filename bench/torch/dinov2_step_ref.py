"""PyTorch CPU reference for bench/dinov2-base.ts: one step of the feature-collision attack on DINOv2 ViT-B/14.

    python bench/torch/dinov2_step_ref.py make --out DIR
    python bench/torch/dinov2_step_ref.py measure --dir DIR --batch 8 --threads 2 --runs 3

make: transformers' Dinov2Model with facebook/dinov2-base's shapes (width 768, 12 layers, 12 heads, patch 14, positions
trained at 518 px) and random weights, saved with save_pretrained next to a BitImageProcessor (resize 256, crop 224):
the directory advood loads with --target DIR.
measure: the step of bench/torch/attack_step_ref.py on that model at 224 px (its positions resampled, as advood does):
adv = clamp(x + δ, 0, 1); f = pooler_output on (adv − mean)/std; loss = −mean cos(f, t) + λ·smoothness(δ), λ = 5e3;
Adam(lr 1e-3) on δ; δ ← clamp(x + δ, 0, 1) − x; cosines read back. Prints one JSON object, ms per step (whole batch).
"""
import argparse
import json
import os
import statistics
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
import torchvision_guard  # noqa: E402,F401  (before transformers)
import transformers  # noqa: E402
from attack_step_ref import paper_smooth_step  # noqa: E402
from timing import time_runs  # noqa: E402

SIZE = 224


def make(args):
    torch.manual_seed(0)
    config = transformers.Dinov2Config(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, image_size=518, patch_size=14)
    model = transformers.Dinov2Model(config)
    model.save_pretrained(args.out, safe_serialization=True)
    transformers.BitImageProcessor(size={"shortest_edge": 256}, crop_size={"height": SIZE, "width": SIZE},
                                   image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(args.out)
    print(json.dumps({"out": args.out}))


def measure(args):
    torch.set_num_threads(args.threads)
    model = transformers.Dinov2Model.from_pretrained(args.dir, attn_implementation="sdpa").eval()
    for p in model.parameters():
        p.requires_grad_(False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(args.batch, 3, SIZE, SIZE, generator=g)
    target = torch.randn(args.batch, 768, generator=g)
    step = paper_smooth_step(x, target, lambda adv: model(pixel_values=(adv - mean) / std).pooler_output, g)
    times = time_runs(step, args.runs)
    print(json.dumps(dict(torch=torch.__version__, transformers=transformers.__version__, threads=args.threads, batch=args.batch,
                          step_ms=statistics.median(times), min_ms=min(times), max_ms=max(times))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    r = sub.add_parser("measure")
    r.add_argument("--dir", required=True)
    r.add_argument("--batch", type=int, default=8)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    (make if args.command == "make" else measure)(args)


if __name__ == "__main__":
    sys.exit(main())
