"""PyTorch CPU reference for bench/backbone-base.ts: one step of the feature-collision attack on a base-size backbone.

    python bench/torch/backbone_step_ref.py make --family dinov2|siglip --out DIR
    python bench/torch/backbone_step_ref.py measure --family dinov2|siglip --dir DIR --batch 8 --threads 2 --runs 3

make: transformers' model with the base checkpoint's shapes and random weights, saved with save_pretrained next to
its image processor: the directory advood loads with --target DIR.
  dinov2  Dinov2Model as facebook/dinov2-base (width 768, 12 layers, 12 heads, patch 14, positions trained at 518 px),
          BitImageProcessor (resize 256, crop 224), so both sides resample the positions to 16×16
  siglip  SiglipVisionModel as google/siglip-base-patch16-224's vision tower (width 768, 12 layers, patch 16, 224 px)
measure: the step of bench/torch/attack_step_ref.py on that model at 224 px: adv = clamp(x + δ, 0, 1); f = pooler_output
(DINOv2: CLS after the final layer norm; SigLIP: the MAP head's output) on (adv − mean)/std; loss = −mean cos(f, t)
+ λ·smoothness(δ), λ = 5e3; Adam(lr 1e-3) on δ; δ ← clamp(x + δ, 0, 1) − x; cosines read back. Prints one JSON object,
ms per step (whole batch).
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


FAMILIES = {
    "dinov2": dict(model=lambda: transformers.Dinov2Model(transformers.Dinov2Config(
                       hidden_size=768, num_hidden_layers=12, num_attention_heads=12, image_size=518, patch_size=14)),
                   processor=lambda: transformers.BitImageProcessor(
                       size={"shortest_edge": 256}, crop_size={"height": SIZE, "width": SIZE},
                       image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]),
                   load=lambda d: transformers.Dinov2Model.from_pretrained(d, attn_implementation="sdpa"),
                   mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    "siglip": dict(model=lambda: transformers.SiglipVisionModel(transformers.SiglipVisionConfig(
                       hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                       image_size=SIZE, patch_size=16)),
                   processor=lambda: transformers.SiglipImageProcessor(size={"height": SIZE, "width": SIZE}),
                   load=lambda d: transformers.SiglipVisionModel.from_pretrained(d, attn_implementation="sdpa"),
                   mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5]),
}


def make(args):
    torch.manual_seed(0)
    family = FAMILIES[args.family]
    family["model"]().save_pretrained(args.out, safe_serialization=True)
    family["processor"]().save_pretrained(args.out)
    print(json.dumps({"out": args.out}))


def measure(args):
    torch.set_num_threads(args.threads)
    family = FAMILIES[args.family]
    model = family["load"](args.dir).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    mean = torch.tensor(family["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(family["std"]).view(1, 3, 1, 1)
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
    m.add_argument("--family", choices=sorted(FAMILIES), required=True)
    m.add_argument("--out", required=True)
    r = sub.add_parser("measure")
    r.add_argument("--family", choices=sorted(FAMILIES), required=True)
    r.add_argument("--dir", required=True)
    r.add_argument("--batch", type=int, default=8)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    (make if args.command == "make" else measure)(args)


if __name__ == "__main__":
    sys.exit(main())
