"""Tiny timm towers for the open_clip references (test/reference/openclip_configs/*.json name them).

eva02_tiny_patch8_clip_24 is timm's own eva02_base_patch16_clip_224 factory (rotary positions with a 16x16
reference grid, SwiGLU with its inner LayerNorm, the attention's inner LayerNorm, no k bias) with the sizes
overridden: width 128 in two 64-wide heads (EVA-02's head width), 2 blocks, patch 8 on a 3x3 grid (24 px).
"""
from timm.models import eva, register_model


@register_model
def eva02_tiny_patch8_clip_24(pretrained=False, **kwargs):
    sizes = dict(img_size=24, patch_size=8, embed_dim=128, depth=2, num_heads=2)
    return eva.eva02_base_patch16_clip_224(pretrained=pretrained, **dict(sizes, **kwargs))
