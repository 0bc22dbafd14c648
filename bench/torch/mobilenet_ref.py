"""PyTorch CPU reference for bench/mobilenet.ts: a MobileNetV2 of the same shapes as advood's rebuild.

Built by hand in torch.nn (torchvision may be absent): BN folded into conv biases, ReLU6, the asymmetric
(0,1,0,1) zero padding before each stride-2 3x3 conv, a mean over H and W. Weights are random (speed does not
depend on them). Measures, per image, the forward pass (no_grad) and forward + backward to the input only
(parameters frozen), median over runs, at each requested thread count.

Usage: /usr/bin/python3 bench/torch/mobilenet_ref.py --sizes 128 224 --batch 8 --threads 1 2 --runs 5
Prints one JSON object.
"""
import argparse
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from timing import median_ms  # bench/torch/timing.py: the script's own folder is on sys.path

# Sandler et al. 2018, Table 2: expansion t, channels c, repeats n, first stride s.
BOTTLENECKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class ConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride, depthwise, relu6):
        super().__init__()
        self.stride2 = stride == 2
        padding = 0 if self.stride2 else k // 2
        self.conv = nn.Conv2d(cin, cout, k, stride, padding, groups=cin if depthwise else 1, bias=True)
        self.relu6 = relu6

    def forward(self, x):
        if self.stride2:
            x = F.pad(x, (0, 1, 0, 1))  # keras ZeroPadding2D(((0,1),(0,1)))
        x = self.conv(x)
        return F.relu6(x) if self.relu6 else x


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, t, stride):
        super().__init__()
        hidden = cin * t
        layers = [] if t == 1 else [ConvLayer(cin, hidden, 1, 1, False, True)]
        layers += [ConvLayer(hidden, hidden, 3, stride, True, True), ConvLayer(hidden, cout, 1, 1, False, False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        out = self.body(x)
        return x + out if self.residual else out


class MobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [ConvLayer(3, 32, 3, 2, False, True)]
        channels = 32
        for t, c, n, s in BOTTLENECKS:
            for i in range(n):
                layers.append(InvertedResidual(channels, c, t, s if i == 0 else 1))
                channels = c
        layers.append(ConvLayer(channels, 1280, 1, 1, False, True))
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x).mean(dim=(2, 3))



def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 224])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = MobileNetV2().eval()
    for p in model.parameters():
        p.requires_grad_(False)

    results = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for size in args.sizes:
            x = torch.rand(args.batch, 3, size, size)

            def forward():
                with torch.no_grad():
                    model(x)

            def forward_backward():
                xi = x.clone().requires_grad_(True)
                model(xi).sum().backward()
                return xi.grad

            results.append({
                "threads": threads,
                "size": size,
                "forward_ms_per_image": median_ms(forward, args.runs) / args.batch,
                "forward_backward_ms_per_image": median_ms(forward_backward, args.runs) / args.batch,
            })
    print(json.dumps({"torch": torch.__version__, "batch": args.batch, "results": results}))


if __name__ == "__main__":
    main()
