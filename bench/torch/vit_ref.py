"""PyTorch CPU reference for bench/vit.ts: CLIP ViT-B/32's vision tower, same architecture as advood's.

Written out in torch ops (no open_clip needed): stride-32 conv patch embedding, class token, positional
embedding, ln_pre, 12 pre-LN blocks (width 768, 12 heads, MLP 3072, QuickGELU), ln_post on the class token,
projection to 512. Random weights (speed does not depend on them), parameters frozen. Measures per image the
forward pass (no_grad) and forward + backward to the input, median over runs, at each thread count.

Usage: /usr/bin/python3 bench/torch/vit_ref.py --batches 1 8 --threads 1 2 --runs 5
Prints one JSON object.
"""
import argparse
import json
import math

import torch
import torch.nn.functional as F
from timing import median_ms  # bench/torch/timing.py: the script's own folder is on sys.path

WIDTH, LAYERS, HEADS, MLP, PATCH, SIZE, EMBED = 768, 12, 12, 3072, 32, 224, 512


def make_weights():
    g = torch.Generator().manual_seed(0)
    r = lambda *shape: torch.randn(*shape, generator=g) * 0.02
    tokens = (SIZE // PATCH) ** 2 + 1
    blocks = []
    for _ in range(LAYERS):
        blocks.append(dict(
            ln1=(torch.ones(WIDTH), torch.zeros(WIDTH)), qkv=(r(3 * WIDTH, WIDTH), r(3 * WIDTH)),
            out=(r(WIDTH, WIDTH), r(WIDTH)), ln2=(torch.ones(WIDTH), torch.zeros(WIDTH)),
            fc1=(r(MLP, WIDTH), r(MLP)), fc2=(r(WIDTH, MLP), r(WIDTH))))
    return dict(conv=r(WIDTH, 3, PATCH, PATCH), cls=r(WIDTH), pos=r(tokens, WIDTH), ln_pre=(torch.ones(WIDTH), torch.zeros(WIDTH)),
                blocks=blocks, ln_post=(torch.ones(WIDTH), torch.zeros(WIDTH)), proj=r(WIDTH, EMBED))


def forward(w, x, projected=True):
    n = x.shape[0]
    h = F.conv2d(x, w["conv"], stride=PATCH).flatten(2).transpose(1, 2)
    h = torch.cat([w["cls"].expand(n, 1, -1), h], 1) + w["pos"]
    h = F.layer_norm(h, (WIDTH,), *w["ln_pre"])
    t, d = h.shape[1], WIDTH // HEADS
    for b in w["blocks"]:
        y = F.layer_norm(h, (WIDTH,), *b["ln1"])
        q, k, v = F.linear(y, *b["qkv"]).reshape(n, t, 3, HEADS, d).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), -1) @ v
        h = h + F.linear(a.transpose(1, 2).reshape(n, t, WIDTH), *b["out"])
        m = F.linear(F.layer_norm(h, (WIDTH,), *b["ln2"]), *b["fc1"])
        h = h + F.linear(m * torch.sigmoid(1.702 * m), *b["fc2"])
    pooled = F.layer_norm(h[:, 0], (WIDTH,), *w["ln_post"])
    return pooled @ w["proj"] if projected else pooled



def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    w = make_weights()
    results = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for batch in args.batches:
            x = torch.rand(batch, 3, SIZE, SIZE)

            def fwd():
                with torch.no_grad():
                    forward(w, x)

            def fwd_bwd():
                xi = x.clone().requires_grad_(True)
                forward(w, xi).sum().backward()

            results.append(dict(threads=threads, batch=batch, forward_ms_per_image=median_ms(fwd, args.runs) / batch,
                                forward_backward_ms_per_image=median_ms(fwd_bwd, args.runs) / batch))
    print(json.dumps(dict(torch=torch.__version__, results=results)))


if __name__ == "__main__":
    main()
