"""GL-MCM's global and local image features, computed with open_clip's own modules, for advood's 'local-projected'
feature kind (src/models/clip/vision-tower.ts).

    python test/reference/glmcm_local_reference.py DIR OUT.bin

DIR is a checkpoint written by openclip_reference.py make (open_clip_model.safetensors, meta.json, input.bin).
The local features follow the GL-MCM recipe (Miyai et al. 2023, clip/model.py of their code): the input x of the
last residual block; v = x + out_proj(W_v ln_1(x) + b_v) (the value path, i.e. the block with each token attending
only to itself); v = v + mlp(ln_2(v)); ln_post; @ proj; patch tokens only. The global feature is open_clip's own
encode_image (the projected class token). OUT.bin: float32 [B, 1 + patches, D], the global row first.
"""
import os
import sys

import numpy as np
import torch

from openclip_reference import open_clip, preprocess_cfg, safe_open  # the torchvision guard runs on import


def load_visual(directory, model_name):
    model = open_clip.create_model(model_name, pretrained=None)
    state = {}
    with safe_open(os.path.join(directory, "open_clip_model.safetensors"), framework="pt") as f:
        for key in f.keys():
            state[key] = f.get_tensor(key)
    model.load_state_dict(state, strict=False)
    model.eval()
    return model


def main():
    import json

    directory, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(directory, "meta.json")) as f:
        meta = json.load(f)
    model = load_visual(directory, meta["model"])
    visual = model.visual
    mean, std = preprocess_cfg(model)
    pixels = np.fromfile(os.path.join(directory, meta["input"]["file"]), dtype=np.float32).reshape(meta["input"]["shape"])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2)
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    captured = {}
    last = visual.transformer.resblocks[-1]
    hook = last.register_forward_pre_hook(lambda module, args: captured.__setitem__("x", args[0]))
    with torch.no_grad():
        global_features = model.encode_image(x)
        hook.remove()
        h = captured["x"]
        if h.shape[0] != x.shape[0]:  # sequence-first blocks (older open_clip): [T, B, W] -> [B, T, W]
            h = h.permute(1, 0, 2)
        width = h.shape[-1]
        w_v = last.attn.in_proj_weight[2 * width:]
        b_v = last.attn.in_proj_bias[2 * width:]
        value = torch.nn.functional.linear(last.ln_1(h), w_v, b_v)
        v = h + last.attn.out_proj(value)
        v = v + last.mlp(last.ln_2(v))
        local = visual.ln_post(v[:, 1:]) @ visual.proj
    rows = torch.cat([global_features.unsqueeze(1), local], dim=1)
    rows.numpy().astype(np.float32).tofile(out)
    print(json.dumps({"shape": list(rows.shape)}))


if __name__ == "__main__":
    sys.exit(main())
