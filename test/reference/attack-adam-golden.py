"""Golden values for test/attacks/optimisers.test.ts: torch.optim.Adam (defaults β 0.9/0.999, eps 1e-8) on
f(θ) = Σ w·(θ − c)², 6 steps, in float64. Run with Debian's python3 (torch 1.13):
    /usr/bin/python3 test/reference/attack-adam-golden.py > test/reference/attack-adam-golden.json
"""
import json
import torch

theta0 = [0.5, -0.2, 0.0, 1e-9, 3.0]  # 1e-9: a gradient below eps, where eps placement matters
c = torch.tensor([0.1, 0.4, -0.3, 0.0, 2.0], dtype=torch.float64)
w = torch.tensor([1.0, 10.0, 0.01, 1.0, 100.0], dtype=torch.float64)
out = {"theta0": theta0, "c": c.tolist(), "w": w.tolist(), "lr": 1e-2, "steps": []}
theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
opt = torch.optim.Adam([theta], lr=1e-2)
for _ in range(6):
    opt.zero_grad()
    loss = (w * (theta - c) ** 2).sum()
    loss.backward()
    opt.step()
    out["steps"].append(theta.detach().tolist())
print(json.dumps(out, indent=1))
