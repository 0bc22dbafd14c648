"""open_clip's own model as the reference for advood's CLIP vision tower.

    python test/reference/openclip_reference.py make --model ViT-B-32 --out DIR [--seed 0] [--batch 2]
    python test/reference/openclip_reference.py measure --model ViT-bigG-14 --dir DIR [--threads 2] [--runs 2]

make: builds open_clip's model with random weights (no pretrained download), writes it in the open_clip layout
advood reads (open_clip_model.safetensors + open_clip_config.json with its model_cfg), a seeded batch of pixels
(input.bin, float32 NHWC in [0, 1]) and targets (target.bin), and what open_clip computes for them (reference.bin):
the image features before the projection (the CLS token after ln_post, the paper's features; for a timm tower such
as EVA-02's, the trunk's pooled CLS token after its final norm, before its head; for a timm SigLIP tower, the mean of
the normalised tokens its attention-pooling head reads) and the input gradient of the
attack loss  -sum_i cos(f(norm(x_i)), t_i)  with respect to the [0, 1] pixels. With --prompts, also the projected
image embeddings (encode_image) and the text embeddings of the prompts (encode_text, open_clip's own tokenizer,
whose BPE file is copied beside the weights; a config whose hf_tokenizer_name is "local" gets a tokenizer.json trained
here, which open_clip's HFTokenizer reads from the output directory). meta.json lists shapes and offsets.

measure: in a fresh process, PyTorch's own cost of the same step for the benchmark: the vision tower alone, built
on the meta device and filled from the safetensors file (no random init, no text tower), then forward + input
gradient at batch 1 timed over --runs; prints JSON with the time per step and the peak RSS.
"""
import argparse
import json
import os
import resource
import shutil
import sys
import time

import numpy as np
import torch

import torchvision_guard  # noqa: E402,F401  (before open_clip: see torchvision_guard.py)
import open_clip  # noqa: E402
import tiny_timm_models  # noqa: E402,F401  (registers the timm towers our tiny configs name)
from safetensors import safe_open
from safetensors.torch import save_file

# Tiny configs of ours beside open_clip's own (e.g. tiny-quickgelu-256: QuickGELU at a non-224 size, like DFN-378).
open_clip.add_model_config(os.path.join(os.path.dirname(os.path.abspath(__file__)), "openclip_configs"))


def seeded(seed, shape, kind):
    rng = np.random.default_rng(seed)
    values = rng.random(shape, dtype=np.float32) if kind == "uniform" else rng.standard_normal(shape, dtype=np.float32)
    return np.ascontiguousarray(values)


def preprocess_cfg(model):
    mean = getattr(model.visual, "image_mean", None) or open_clip.OPENAI_DATASET_MEAN
    std = getattr(model.visual, "image_std", None) or open_clip.OPENAI_DATASET_STD
    return [float(v) for v in mean], [float(v) for v in std]


def normalise(x_nhwc, mean, std):
    return (x_nhwc.permute(0, 3, 1, 2) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def pre_projection(visual, normalised):
    """The features before the projection: open_clip's own ViT with its proj taken away, or a timm trunk's pre-logits."""
    if isinstance(visual, open_clip.timm_model.TimmModel):
        tokens = visual.trunk.forward_features(normalised)
        if getattr(visual.trunk, "attn_pool", None) is not None:
            return tokens.mean(dim=1)  # a SigLIP tower: the mean of the normalised tokens its MAP head pools
        return visual.trunk.forward_head(tokens, pre_logits=True)
    proj = visual.proj
    visual.proj = None  # open_clip's VisionTransformer then returns the pooled CLS token after ln_post
    try:
        return visual(normalised)
    finally:
        visual.proj = proj


def features_and_gradient(visual, pixels_nhwc, targets, mean, std):
    """Pre-projection features and d(-sum cos)/d(pixels), pixels NHWC in [0, 1] as advood takes them."""
    x = torch.from_numpy(pixels_nhwc).clone().requires_grad_(True)
    features = pre_projection(visual, normalise(x, mean, std))
    loss = -torch.nn.functional.cosine_similarity(features, torch.from_numpy(targets), dim=1).sum()
    loss.backward()
    return features.detach().numpy(), x.grad.numpy()


def make(args):
    torch.manual_seed(args.seed)
    model = open_clip.create_model(args.model, pretrained=None)
    model.eval()
    generator = torch.Generator().manual_seed(args.seed)
    for p in model.parameters():
        p.requires_grad_(False)
        if p.ndim <= 1:
            # Norms start at exactly 1 and most biases at 0; seeded noise makes every one of them show in the outputs.
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    os.makedirs(args.out, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "logit_bias"}
    save_file(state, os.path.join(args.out, "open_clip_model.safetensors"))
    mean, std = preprocess_cfg(model)
    config = {"model_cfg": open_clip.get_model_config(args.model), "preprocess_cfg": {"mean": mean, "std": std}}
    with open(os.path.join(args.out, "open_clip_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    size = model.visual.image_size[0] if isinstance(model.visual.image_size, (tuple, list)) else model.visual.image_size
    pixels = seeded(args.seed + 1, (args.batch, size, size, 3), "uniform")
    with torch.no_grad():
        width = pre_projection(model.visual, normalise(torch.from_numpy(pixels[:1]), mean, std)).shape[1]
    targets = seeded(args.seed + 2, (args.batch, width), "normal")
    features, gradient = features_and_gradient(model.visual, pixels, targets, mean, std)
    pixels.tofile(os.path.join(args.out, "input.bin"))
    targets.tofile(os.path.join(args.out, "target.bin"))
    outputs = [features, gradient]
    extra = {}
    if args.prompts:
        prompts = json.loads(args.prompts)
        text_cfg = open_clip.get_model_config(args.model)["text_cfg"]
        if text_cfg.get("hf_tokenizer_name") == "local":
            # No Hub here: a tokenizer.json trained on the spot, read by open_clip's own HFTokenizer from the directory.
            from transformers_reference import siglip_tokenizer
            siglip_tokenizer("unigram", text_cfg["context_length"]).save_pretrained(args.out)
            clean = text_cfg.get("tokenizer_kwargs", {}).get("clean", "whitespace")
            tokenizer = open_clip.tokenizer.HFTokenizer(args.out, context_length=text_cfg["context_length"], clean=clean)
        else:
            tokenizer = open_clip.get_tokenizer(args.model)
            shutil.copy(open_clip.tokenizer.default_bpe(), args.out)
        with torch.no_grad():
            projected = model.encode_image(normalise(torch.from_numpy(pixels), mean, std)).numpy()
            text = model.encode_text(tokenizer(prompts)).numpy()
        offset = int(features.size + gradient.size)
        extra = {
            "prompts": prompts,
            "projected": {"offset": offset, "shape": list(projected.shape)},
            "text": {"offset": offset + int(projected.size), "shape": list(text.shape)},
        }
        outputs += [projected, text]
    np.concatenate([o.ravel() for o in outputs]).astype(np.float32).tofile(os.path.join(args.out, "reference.bin"))
    meta = {
        "model": args.model,
        "open_clip": open_clip.__version__,
        "torch": torch.__version__,
        "seed": args.seed,
        "batch": args.batch,
        "image_size": size,
        "width": width,
        "input": {"file": "input.bin", "shape": list(pixels.shape)},
        "target": {"file": "target.bin", "shape": list(targets.shape)},
        "reference": {
            "file": "reference.bin",
            "features": {"offset": 0, "shape": list(features.shape)},
            "gradient": {"offset": int(features.size), "shape": list(gradient.shape)},
            **extra,
        },
        "loss": "-sum_i cos(f(norm(x_i)), t_i), f = pre-projection features (CLS after ln_post)",
    }
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(json.dumps({"out": args.out, "params": sum(v.numel() for v in state.values())}))


def measure(args):
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.dir, "meta.json")) as f:
        meta = json.load(f)
    model = open_clip.create_model(meta["model"], pretrained=None, device="meta")
    visual = model.visual
    state = {}
    with safe_open(os.path.join(args.dir, "open_clip_model.safetensors"), framework="pt") as f:
        for key in f.keys():
            if key.startswith("visual."):
                state[key[len("visual."):]] = f.get_tensor(key)
    visual.load_state_dict(state, assign=True, strict=True)
    del state
    visual.eval()
    for p in visual.parameters():
        p.requires_grad_(False)
    mean, std = preprocess_cfg(model)
    size, width = meta["image_size"], meta["width"]
    pixels = seeded(meta["seed"] + 1, (1, size, size, 3), "uniform")
    targets = seeded(meta["seed"] + 2, (1, width), "normal")
    times = []
    for _ in range(args.runs + 1):
        start = time.perf_counter()
        features_and_gradient(visual, pixels, targets, mean, std)
        times.append(time.perf_counter() - start)
    steps = times[1:]  # the first call pays allocation warm-up
    print(json.dumps({
        "torch": torch.__version__,
        "threads": args.threads,
        "step_s": float(np.median(steps)),
        "steps_s": steps,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--model", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--batch", type=int, default=2)
    m.add_argument("--prompts", help="a JSON list of prompts: also write encode_image and encode_text outputs")
    r = sub.add_parser("measure")
    r.add_argument("--dir", required=True)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    (make if args.command == "make" else measure)(args)


if __name__ == "__main__":
    sys.exit(main())
