"""PyTorch CPU reference for bench/attack-step.ts: one step of the feature-collision attack on CLIP ViT-B/32.

The step of the paper's official notebook (HHU-MMBS/plp-official-tmlr2024, `compute_adv`), written out with the
same architecture as bench/torch/vit_ref.py (random weights, parameters frozen):
  adv = clamp(x + δ, 0, 1); f = ln_post(CLS) of the vision tower on (adv − mean)/std (pre-projection features);
  loss = −mean_b cos(f, t) + λ·(mean((∂y δ)²) + mean((∂x δ)²))   (torchmetrics image_gradients, λ = 5e3);
  Adam(lr 1e-3) step on δ; δ ← clamp(x + δ, 0, 1) − x; the cosines are read back (as advood reads them for its
  progress and early stop).
Measures ms per step (whole batch), median over runs after one warm-up step, at each thread count.

Usage: /usr/bin/python3 bench/torch/attack_step_ref.py --batch 8 --threads 1 2 --runs 5
Prints one JSON object.
"""
import argparse
import json
import os
import statistics
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import time_runs  # noqa: E402
from vit_ref import SIZE, forward, make_weights  # noqa: E402

LAMBDA = 5e3  # the paper's "smooth" preset (configs/attacks/paper-smooth.json)
LR = 1e-3
MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)  # OpenAI CLIP normalisation
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)


def smoothness(delta):
    dy = delta[:, :, 1:, :] - delta[:, :, :-1, :]
    dx = delta[:, :, :, 1:] - delta[:, :, :, :-1]
    # Means over the zero-padded gradient images, as torchmetrics' image_gradients gives them.
    return (dy.pow(2).sum() + dx.pow(2).sum()) / delta.numel()


def paper_smooth_step(x, target, encode, generator):
    """One step of the paper-smooth attack as advood's feature-collision step takes it: δ starts at
    clamp(x + N(0, 1e-3²)) − x, the loss is −mean cos(encode(x + δ), target) + λ·smoothness(δ), Adam updates δ,
    and x + δ is clamped to [0, 1]. `encode` maps pixels in [0, 1] to features. Returns the step function."""
    delta = (torch.clamp(x + 1e-3 * torch.randn(x.shape, generator=generator), 0, 1) - x).requires_grad_(True)
    opt = torch.optim.Adam([delta], lr=LR)

    def step():
        adv = torch.clamp(x + delta, 0, 1)
        cos = F.cosine_similarity(encode(adv), target)
        loss = -cos.mean() + LAMBDA * smoothness(delta)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            delta.copy_(torch.clamp(x + delta, 0, 1) - x)
        return cos.detach().tolist()

    return step


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    w = make_weights()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(args.batch, 3, SIZE, SIZE, generator=g)
    target = torch.randn(args.batch, w["proj"].shape[0], generator=g)
    results = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        step = paper_smooth_step(x, target, lambda adv: forward(w, (adv - MEAN) / STD, projected=False), g)
        times = time_runs(step, args.runs)
        results.append(dict(threads=threads, batch=args.batch, step_ms=statistics.median(times), min_ms=min(times), max_ms=max(times)))
    print(json.dumps(dict(torch=torch.__version__, results=results)))


if __name__ == "__main__":
    main()
