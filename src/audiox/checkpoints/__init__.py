"""Weights in and out: safe reading, the official key map, strict loading, conversion, local encoders.

Loading = `read_checkpoint` (safetensors, or `torch.load(weights_only=True)`) -> `keys.to_internal`
(official prefix map) -> `load_into` (strict; one-line mismatch report). Nothing here downloads.
"""

from audiox.checkpoints.convert import Conversion, convert_checkpoint
from audiox.checkpoints.keys import to_internal, to_official
from audiox.checkpoints.load import load_checkpoint_into, load_into, load_vae_checkpoint
from audiox.checkpoints.local_models import find_clip, find_local_model, find_t5
from audiox.checkpoints.read import read_checkpoint, read_safetensors, unwrap_state_dict

__all__ = [
    "Conversion",
    "convert_checkpoint",
    "find_clip",
    "find_local_model",
    "find_t5",
    "load_checkpoint_into",
    "load_into",
    "load_vae_checkpoint",
    "read_checkpoint",
    "read_safetensors",
    "to_internal",
    "to_official",
    "unwrap_state_dict",
]
