"""Hugging Face transformers' own models as the reference for advood's DINOv2 and HF CLIP encoders.

    python test/reference/transformers_reference.py make --variant dinov2 --out DIR [--crop 42] [--seed 0] [--batch 2]

make: builds a tiny random model with transformers itself (no download), saves it with save_pretrained (config.json +
model.safetensors) next to its image processor's save_pretrained (preprocessor_config.json), exactly the files a user's
hub download holds. Then writes a seeded batch of [0, 1] pixels at the processor's crop size (input.bin, float32 NHWC),
targets (target.bin) and what transformers computes for them (reference.bin): the default features and the input
gradient of the attack loss  -sum_i cos(f(norm(x_i)), t_i)  with respect to the [0, 1] pixels, plus any further
feature kind (extra.<kind>). meta.json lists shapes and offsets, in the format test/helpers/reference-parity.ts reads.

Variants:
  dinov2           Dinov2Model, GELU MLP, layer scale; pooler_output (CLS after the final layer norm)
  dinov2-swiglu    Dinov2Model with use_swiglu_ffn (the giant model's FFN)
  dinov2-registers Dinov2WithRegistersModel (register tokens; antialiased bicubic position interpolation)
  clip-quickgelu   CLIPModel with hidden_act='quick_gelu' (MetaCLIP, DFN); pre-projection CLS after post_layernorm
  siglip           SiglipModel (SigLIP; fixed-resolution SigLIP 2 checkpoints are SiglipModel too) with a Unigram
                   tokenizer.json ending prompts with </s> (a converted SigLIP SentencePiece vocabulary): the MAP
                   head's output (get_image_features), the mean of the post-LN tokens, and text embeddings
  siglip-gemma     SiglipModel with a byte-fallback BPE tokenizer.json that starts prompts with <bos> and pads
                   with <pad> (the layout of SigLIP 2's Gemma tokenizer)
  siglip-vision    SiglipVisionModel alone (vision_model.* keys, no text tower)

Text (SigLIP variants): PROMPTS are tokenized by AutoTokenizer.from_pretrained(out) with padding='max_length' to the
text tower's max_position_embeddings, as SigLIP was trained, and embedded with get_text_features(input_ids) without
an attention mask (big_vision's text encoder attends to every position and reads the last one). meta.json's "text"
holds the prompts, their ids and the embeddings' block.

--crop sets the processor's crop size; where it differs from the config's image_size, the models interpolate their
position embeddings (transformers' interpolate_pos_encoding; CLIP is called with interpolate_pos_encoding=True).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

import torchvision_guard  # noqa: E402,F401  (before transformers: see torchvision_guard.py)
import transformers  # noqa: E402


def seeded(seed, shape, kind):
    rng = np.random.default_rng(seed)
    values = rng.random(shape, dtype=np.float32) if kind == "uniform" else rng.standard_normal(shape, dtype=np.float32)
    return np.ascontiguousarray(values)


PROMPTS = ["a photo of a cat.", "A PHOTO of the Dog!", "an origami crane", "a blurry photo of a tiny, red car"]
CORPUS = PROMPTS + ["a photo of a bird", "a drawing of a house", "the texture of wood", "a small dog on grass",
                    "an image of a plane in the sky", "a close-up photo of a flower"] * 3


def siglip_tokenizer(kind, max_length):
    """A tiny tokenizer trained here with the tokenizers library and wrapped as transformers writes it."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    if kind == "unigram":
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.Sequence([normalizers.Lowercase(), normalizers.Replace(",", "")])
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        tok.train_from_iterator(CORPUS, trainers.UnigramTrainer(vocab_size=60, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>"))
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
        specials = dict(pad_token="</s>", eos_token="</s>", unk_token="<unk>")
    else:
        tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
        tok.normalizer = normalizers.Replace(" ", "\u2581")
        tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
        bytes_ = [f"<0x{b:02X}>" for b in range(256)]
        tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "<eos>", "<bos>", "<unk>", *bytes_]))
        tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", tok.token_to_id("<bos>"))])
        specials = dict(pad_token="<pad>", eos_token="<eos>", bos_token="<bos>", unk_token="<unk>")
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=max_length, **specials)


def build(variant, image_size, patch, crop):
    """The model, its processor and what each feature kind reads from the model's output."""
    if variant.startswith("dinov2"):
        common = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, mlp_ratio=4, image_size=image_size,
                      patch_size=patch, layerscale_value=0.5, hidden_act="gelu")
        if variant == "dinov2-registers":
            model = transformers.Dinov2WithRegistersModel(transformers.Dinov2WithRegistersConfig(num_register_tokens=3, **common))
            registers = 3
        else:
            model = transformers.Dinov2Model(transformers.Dinov2Config(use_swiglu_ffn=variant == "dinov2-swiglu", **common))
            registers = 0
        # Layer scale starts at layerscale_value everywhere, and the position embeddings at std 0.02, too small
        # beside the patch embeddings for a wrong resampling kernel to show in the features: draw both afresh.
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("lambda1"):
                    p.copy_(torch.rand_like(p) + 0.25)
                elif name.endswith("position_embeddings"):
                    p.copy_(torch.randn_like(p))
        processor = transformers.BitImageProcessor(
            size={"shortest_edge": round(crop * 256 / 224)}, crop_size={"height": crop, "width": crop},
            image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225], do_center_crop=True)

        def kinds(pixels):
            out = model(pixel_values=pixels)
            seq = out.last_hidden_state
            return {"pre-projection": out.pooler_output,
                    "cls-patch-mean": torch.cat([seq[:, 0], seq[:, 1 + registers:].mean(dim=1)], dim=1)}
        return model, processor, kinds, None, "pre-projection"
    if variant == "clip-quickgelu":
        config = transformers.CLIPConfig(
            text_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, vocab_size=64,
                             max_position_embeddings=16, hidden_act="quick_gelu"),
            vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                               image_size=image_size, patch_size=patch, hidden_act="quick_gelu"),
            projection_dim=24)
        model = transformers.CLIPModel(config)
        processor = transformers.CLIPImageProcessor(size={"shortest_edge": crop}, crop_size={"height": crop, "width": crop})

        def kinds(pixels):
            out = model.vision_model(pixel_values=pixels, interpolate_pos_encoding=crop != image_size)
            return {"pre-projection": out.pooler_output, "projected": model.visual_projection(out.pooler_output)}
        return model, processor, kinds, None, "pre-projection"
    if variant.startswith("siglip"):
        vision = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                      image_size=image_size, patch_size=patch)
        text_length = 16
        processor = transformers.SiglipImageProcessor(size={"height": crop, "width": crop})
        if variant == "siglip-vision":
            model = transformers.SiglipVisionModel(transformers.SiglipVisionConfig(**vision))
            tokenizer = None
            tower = model
        else:
            tokenizer = siglip_tokenizer("unigram" if variant == "siglip" else "bpe", text_length)
            config = transformers.SiglipConfig(
                text_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                                 vocab_size=len(tokenizer), max_position_embeddings=text_length, projection_size=32),
                vision_config=vision)
            model = transformers.SiglipModel(config)
            tower = model.vision_model
        # The probe and the positions start at small values: draw them afresh so that a wrong head or resampling
        # shows in the features.
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("position_embedding.weight") or name.endswith("head.probe"):
                    p.copy_(torch.randn_like(p))

        def kinds(pixels):
            out = tower(pixel_values=pixels, interpolate_pos_encoding=crop != image_size)
            return {"projected": out.pooler_output, "pre-projection": out.last_hidden_state.mean(dim=1)}

        def text(prompts, saved_tokenizer):
            if tokenizer is None:
                return None
            ids = saved_tokenizer(prompts, padding="max_length", max_length=text_length, truncation=True, return_tensors="pt")["input_ids"]
            return ids, model.get_text_features(input_ids=ids).pooler_output
        return model, (processor, tokenizer), kinds, text, "projected"
    raise SystemExit(f"unknown variant {variant}")


def make(args):
    torch.manual_seed(args.seed)
    model, processor, kinds, text, default_kind = build(args.variant, args.image_size, args.patch, args.crop)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    processor, tokenizer = processor if isinstance(processor, tuple) else (processor, None)
    processor.save_pretrained(args.out)
    if tokenizer is not None:
        tokenizer.save_pretrained(args.out)
        # The files as saved, read back the way a user loads them.
        tokenizer = transformers.AutoTokenizer.from_pretrained(args.out)
    mean = torch.tensor(processor.image_mean).view(1, 3, 1, 1)
    std = torch.tensor(processor.image_std).view(1, 3, 1, 1)
    pixels = seeded(args.seed + 1, (args.batch, args.crop, args.crop, 3), "uniform")
    x = torch.from_numpy(pixels).clone().requires_grad_(True)
    outputs = kinds((x.permute(0, 3, 1, 2) - mean) / std)
    features = outputs[default_kind]
    targets = seeded(args.seed + 2, tuple(features.shape), "normal")
    loss = -torch.nn.functional.cosine_similarity(features, torch.from_numpy(targets), dim=1).sum()
    loss.backward()
    extra_kinds = [k for k in outputs if k != default_kind]
    blocks = [features.detach().numpy(), x.grad.numpy()] + [outputs[k].detach().numpy() for k in extra_kinds]
    text_out = text(PROMPTS, tokenizer) if text else None
    if text_out is not None:
        blocks.append(text_out[1].detach().numpy())
    offsets = np.cumsum([0] + [b.size for b in blocks])
    pixels.tofile(os.path.join(args.out, "input.bin"))
    targets.tofile(os.path.join(args.out, "target.bin"))
    np.concatenate([b.ravel() for b in blocks]).astype(np.float32).tofile(os.path.join(args.out, "reference.bin"))
    entry = lambda i: {"offset": int(offsets[i]), "shape": list(blocks[i].shape)}  # noqa: E731
    meta = {
        "model": f"transformers {type(model).__name__} ({args.variant})",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "seed": args.seed,
        "batch": args.batch,
        "image_size": args.crop,
        "input": {"file": "input.bin", "shape": list(pixels.shape)},
        "target": {"file": "target.bin", "shape": list(targets.shape)},
        "reference": {
            "file": "reference.bin",
            "features": entry(0),
            "gradient": entry(1),
            "extra": {k: entry(2 + i) for i, k in enumerate(extra_kinds)},
        },
        "loss": f"-sum_i cos(f(norm(x_i)), t_i), f = the default features ('{default_kind}')",
    }
    if text_out is not None:
        meta["text"] = {"prompts": PROMPTS, "input_ids": text_out[0].tolist(), "embeddings": entry(len(blocks) - 1)}
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(json.dumps({"out": args.out, "params": sum(p.numel() for p in model.parameters())}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--variant", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--image-size", type=int, default=28)
    m.add_argument("--patch", type=int, default=7)
    m.add_argument("--crop", type=int, default=28)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    return make(args)


if __name__ == "__main__":
    sys.exit(main())
