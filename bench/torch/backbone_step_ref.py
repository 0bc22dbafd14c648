"""PyTorch CPU reference for bench/backbone-base.ts: one step of the feature-collision attack on a base-size backbone.

    python bench/torch/backbone_step_ref.py make --family dinov2|siglip|eva-clip --out DIR
    python bench/torch/backbone_step_ref.py measure --family dinov2|siglip|eva-clip --dir DIR --batch 8 --threads 2 --runs 3

make: the library's model with the base checkpoint's shapes and random weights, saved in its own layout: the
directory advood loads with --target DIR. transformers' models are saved with save_pretrained next to their image
processor; open_clip's with save_file of its state dict next to an open_clip_config.json.
  dinov2  Dinov2Model as facebook/dinov2-base (width 768, 12 layers, 12 heads, patch 14, positions trained at 518 px),
          BitImageProcessor (resize 256, crop 224), so both sides resample the positions to 16×16
  siglip  SiglipVisionModel as google/siglip-base-patch16-224's vision tower (width 768, 12 layers, patch 16, 224 px)
  eva-clip  open_clip's EVA02-B-16 (timm eva02_base_patch16_clip_224: width 768, 12 blocks, rotary positions, SwiGLU)
measure: the step of bench/torch/attack_step_ref.py on that model at 224 px: adv = clamp(x + δ, 0, 1); f = the
library's image embedding (DINOv2: pooler_output, CLS after the final layer norm; SigLIP: pooler_output, the MAP head's
output; EVA-CLIP: the timm trunk's pre-logits, CLS after the final norm) on (adv − mean)/std; loss = −mean cos(f, t)
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
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

SIZE = 224


def hf_family(config, processor, model_class, mean, std):
    def make(out):
        model_class(config()).save_pretrained(out, safe_serialization=True)
        processor().save_pretrained(out)

    def load(directory):
        model = model_class.from_pretrained(directory, attn_implementation="sdpa").eval()
        return model, lambda pixels: model(pixel_values=pixels).pooler_output

    return dict(make=make, load=load, mean=mean, std=std)


def open_clip_family(name):
    def make(out):
        model = open_clip().create_model(name, pretrained=None)
        os.makedirs(out, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(out, "open_clip_model.safetensors"))
        with open(os.path.join(out, "open_clip_config.json"), "w") as f:
            json.dump({"model_cfg": open_clip().get_model_config(name)}, f, indent=2)

    def load(directory):
        model = open_clip().create_model(name, pretrained=None)
        state = {}
        with safe_open(os.path.join(directory, "open_clip_model.safetensors"), framework="pt") as f:
            for key in f.keys():
                state[key] = f.get_tensor(key)
        model.load_state_dict(state, strict=True)
        trunk = model.visual.trunk.eval()
        return trunk, lambda pixels: trunk.forward_head(trunk.forward_features(pixels), pre_logits=True)

    return dict(make=make, load=load, mean=OPENAI_MEAN, std=OPENAI_STD)


def open_clip():
    import open_clip as module  # imported only for its families: it needs timm, which the others do not

    return module


IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
OPENAI_MEAN, OPENAI_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]

FAMILIES = {
    "dinov2": hf_family(
        lambda: transformers.Dinov2Config(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, image_size=518, patch_size=14),
        lambda: transformers.BitImageProcessor(size={"shortest_edge": 256}, crop_size={"height": SIZE, "width": SIZE},
                                               image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD),
        transformers.Dinov2Model, IMAGENET_MEAN, IMAGENET_STD),
    "siglip": hf_family(
        lambda: transformers.SiglipVisionConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                                                image_size=SIZE, patch_size=16),
        lambda: transformers.SiglipImageProcessor(size={"height": SIZE, "width": SIZE}),
        transformers.SiglipVisionModel, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    "eva-clip": open_clip_family("EVA02-B-16"),
}


def make(args):
    torch.manual_seed(0)
    FAMILIES[args.family]["make"](args.out)
    print(json.dumps({"out": args.out}))


def measure(args):
    torch.set_num_threads(args.threads)
    family = FAMILIES[args.family]
    model, embed = family["load"](args.dir)
    for p in model.parameters():
        p.requires_grad_(False)
    mean = torch.tensor(family["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(family["std"]).view(1, 3, 1, 1)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(args.batch, 3, SIZE, SIZE, generator=g)
    target = torch.randn(args.batch, 768, generator=g)
    step = paper_smooth_step(x, target, lambda adv: embed((adv - mean) / std), g)
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
