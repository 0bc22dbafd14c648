"""Tiny timm towers for the open_clip references (test/reference/openclip_configs/*.json name them): timm's own model
functions with the sizes overridden, so every other setting is the real one.

eva02_tiny_patch8_clip_24 is timm's own eva02_base_patch16_clip_224 factory (rotary positions with a 16x16
reference grid, SwiGLU with its inner LayerNorm, the attention's inner LayerNorm, no k bias) with the sizes
overridden: width 128 in two 64-wide heads (EVA-02's head width), 2 blocks, patch 8 on a 3x3 grid (24 px).
"""
from timm.models import eva, register_model, vision_transformer


@register_model
def eva02_tiny_patch8_clip_24(pretrained=False, **kwargs):
    sizes = dict(img_size=24, patch_size=8, embed_dim=128, depth=2, num_heads=2)
    return eva.eva02_base_patch16_clip_224(pretrained=pretrained, **dict(sizes, **kwargs))


@register_model
def vit_base_patch8_siglip_32(pretrained=False, **kwargs):
    """timm's own vit_base_patch16_siglip_224 (no class token, MAP head) at width 96 in its 12 heads, 2 blocks, patch 8
    on a 4x4 grid (32 px)."""
    sizes = dict(img_size=32, patch_size=8, embed_dim=96, depth=2)
    return vision_transformer.vit_base_patch16_siglip_224(pretrained=pretrained, **dict(sizes, **kwargs))
