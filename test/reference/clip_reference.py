#!/usr/bin/python3
"""Independent float64 reference for advood's CLIP towers (PyTorch 1.13, numpy).

Reads a safetensors checkpoint (parsed here by hand, no advood code) in the HF transformers or open_clip
layout and computes, with the textbook maths of Radford et al. 2021 in torch float64:
  image: conv patch embed -> [CLS; patches] + pos -> ln_pre -> pre-LN blocks -> ln_post(CLS) [-> proj]
  text:  token + pos -> causal pre-LN blocks -> ln_final -> row at argmax(token ids) -> proj
Input: JSON on stdin {weights, layout, arch, pixels (path of raw float32 NHWC in [0,1]), n, tokens}.
Output: JSON on stdout {pre, projected, text} as nested lists.
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        if e["dtype"] == "BF16":
            raw = np.frombuffer(data[a:b], dtype=np.uint16).astype(np.uint32) << 16
            arr = raw.view(np.float32)
        else:
            arr = np.frombuffer(data[a:b], dtype=DTYPES[e["dtype"]])
        out[name] = torch.from_numpy(arr.astype(np.float64).reshape(e["shape"]))
    return out


def block_weights(w, layout, prefix, i, width):
    """Returns PyTorch-convention ([out, in]) weights of block i."""
    if layout == "hf":
        p = f"{prefix}.encoder.layers.{i}."
        g = lambda k: w[p + k]
        return dict(
            ln1=(g("layer_norm1.weight"), g("layer_norm1.bias")),
            q=(g("self_attn.q_proj.weight"), g("self_attn.q_proj.bias")),
            k=(g("self_attn.k_proj.weight"), g("self_attn.k_proj.bias")),
            v=(g("self_attn.v_proj.weight"), g("self_attn.v_proj.bias")),
            out=(g("self_attn.out_proj.weight"), g("self_attn.out_proj.bias")),
            ln2=(g("layer_norm2.weight"), g("layer_norm2.bias")),
            fc1=(g("mlp.fc1.weight"), g("mlp.fc1.bias")),
            fc2=(g("mlp.fc2.weight"), g("mlp.fc2.bias")),
        )
    p = f"{prefix}transformer.resblocks.{i}."
    g = lambda k: w[p + k]
    W, B = g("attn.in_proj_weight"), g("attn.in_proj_bias")
    return dict(
        ln1=(g("ln_1.weight"), g("ln_1.bias")),
        q=(W[:width], B[:width]),
        k=(W[width : 2 * width], B[width : 2 * width]),
        v=(W[2 * width :], B[2 * width :]),
        out=(g("attn.out_proj.weight"), g("attn.out_proj.bias")),
        ln2=(g("ln_2.weight"), g("ln_2.bias")),
        fc1=(g("mlp.c_fc.weight"), g("mlp.c_fc.bias")),
        fc2=(g("mlp.c_proj.weight"), g("mlp.c_proj.bias")),
    )


def act(x, kind):
    if kind == "quick_gelu":
        return x * torch.sigmoid(1.702 * x)
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def ln(x, wb):
    return F.layer_norm(x, (x.shape[-1],), wb[0], wb[1], 1e-5)


def block(x, b, heads, activation, mask=None):
    n, t, d = x.shape
    hd = d // heads
    y = ln(x, b["ln1"])
    split = lambda z: z.reshape(n, t, heads, hd).transpose(1, 2)
    q = split(F.linear(y, *b["q"]))
    k = split(F.linear(y, *b["k"]))
    v = split(F.linear(y, *b["v"]))
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if mask is not None:
        s = s + mask
    o = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(n, t, d)
    x = x + F.linear(o, *b["out"])
    return x + F.linear(act(F.linear(ln(x, b["ln2"]), *b["fc1"]), activation), *b["fc2"])


def vision(w, layout, arch, pixels):
    va = arch["vision"]
    hf = layout == "hf"
    mean = torch.tensor(arch["mean"], dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(arch["std"], dtype=torch.float64).view(1, 3, 1, 1)
    x = (pixels.permute(0, 3, 1, 2) - mean) / std
    conv = w["vision_model.embeddings.patch_embedding.weight" if hf else "visual.conv1.weight"]
    x = F.conv2d(x, conv, stride=va["patchSize"]).flatten(2).transpose(1, 2)
    cls = w["vision_model.embeddings.class_embedding" if hf else "visual.class_embedding"]
    pos = w["vision_model.embeddings.position_embedding.weight" if hf else "visual.positional_embedding"]
    x = torch.cat([cls.expand(x.shape[0], 1, -1), x], dim=1) + pos
    pre = ("vision_model.pre_layrnorm." if hf else "visual.ln_pre.")
    x = ln(x, (w[pre + "weight"], w[pre + "bias"]))
    for i in range(va["layers"]):
        x = block(x, block_weights(w, layout, "vision_model" if hf else "visual.", i, va["width"]), va["heads"], arch["activation"])
    post = "vision_model.post_layernorm." if hf else "visual.ln_post."
    pooled = ln(x[:, 0], (w[post + "weight"], w[post + "bias"]))
    projected = pooled @ (w["visual_projection.weight"].T if hf else w["visual.proj"])
    return pooled, projected


def text(w, layout, arch, tokens):
    ta = arch["text"]
    hf = layout == "hf"
    ids = torch.tensor(tokens, dtype=torch.long)
    tok = w["text_model.embeddings.token_embedding.weight" if hf else "token_embedding.weight"]
    pos = w["text_model.embeddings.position_embedding.weight" if hf else "positional_embedding"]
    x = tok[ids] + pos
    c = ids.shape[1]
    mask = torch.full((c, c), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(ta["layers"]):
        x = block(x, block_weights(w, layout, "text_model" if hf else "", i, ta["width"]), ta["heads"], arch["activation"], mask)
    fin = "text_model.final_layer_norm." if hf else "ln_final."
    x = ln(x, (w[fin + "weight"], w[fin + "bias"]))
    pooled = x[torch.arange(x.shape[0]), ids.argmax(dim=-1)]
    return pooled @ (w["text_projection.weight"].T if hf else w["text_projection"])


def main():
    job = json.load(sys.stdin)
    w = read_safetensors(job["weights"])
    arch = job["arch"]
    size = arch["vision"]["imageSize"]
    raw = np.fromfile(job["pixels"], dtype=np.float32).astype(np.float64)
    pixels = torch.from_numpy(raw.reshape(job["n"], size, size, 3))
    with torch.no_grad():
        pre, projected = vision(w, job["layout"], arch, pixels)
        txt = text(w, job["layout"], arch, job["tokens"])
    json.dump({"pre": pre.tolist(), "projected": projected.tolist(), "text": txt.tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
