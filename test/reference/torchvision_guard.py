"""Import this before open_clip or transformers in any reference script.

The reference venv (scripts/reference-venv.sh) has a CPU torch, but open_clip pulls torchvision from the package
index, whose wheel is built against the CUDA torch: its compiled ops (torchvision::nms and others) do not load, and
its fake-kernel registrations then raise at import ("operator torchvision::nms does not exist"). That stops
open_clip (which imports torchvision's image transforms at module level) and transformers (which imports its model
classes through torchvision-aware image utilities). This guard lets those registrations fail quietly; no reference
script uses a torchvision op.
"""
import torch
import torch.library

_register_fake = torch.library.register_fake


def _tolerant_register_fake(*args, **kwargs):
    decorate = _register_fake(*args, **kwargs)

    def apply(fn):
        try:
            return decorate(fn)
        except RuntimeError:
            return fn

    return apply


torch.library.register_fake = _tolerant_register_fake
