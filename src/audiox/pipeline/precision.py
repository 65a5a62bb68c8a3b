"""Precision policies of the pipeline (the one place that sets dtypes): `exact` and `fast`.

- exact (default): the official numerics. Network, VAE and conditioners in float32; T5 as the model was built
  (the official float16 cast, `text_encoder_dtype`).
- fast: the sampler steps and the VAE decode under bfloat16 autocast where the device runs bf16 natively
  (CUDA with bf16 support; a CPU with AVX512-BF16 or AMX, per oneDNN), else float32; T5 in float32 on a CPU
  (float16 matmuls are emulated there, ~2.5x slower than float32), as built on a GPU; a silent audio prompt
  encoded from a short silence (~1e-7 off the full encode). The video / audio conditioners stay float32. On CUDA, `scaled_dot_product_attention` picks the flash or memory-efficient
  kernel by itself for bf16 inputs (every attention here is unmasked); nothing to switch on.
Quality of `fast` vs `exact` is measured by `benchmarks/speed.py --fast` and tested on the tiny pipelines.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch

from audiox.errors import ConfigError

PRECISIONS = ("exact", "fast")


@dataclass(frozen=True)
class Precision:
    """network_dtype / decode_dtype: autocast dtypes of the sampler steps and of the VAE decode (float32 =
    no autocast); text_encoder_dtype: T5 weights (None = as built); stitch_silence: a silent audio prompt's
    VAE encoding computed from a short silence (`AutoencoderPretransform.encode`, ~1e-7 off)."""

    name: str
    network_dtype: torch.dtype
    decode_dtype: torch.dtype
    text_encoder_dtype: torch.dtype | None
    stitch_silence: bool = False


def bf16_is_native(device: torch.device) -> bool:
    """True where bfloat16 matmuls and convolutions run natively (not emulated) on `device`."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def resolve_precision(name: str, device: str | torch.device, dtype: torch.dtype | None = None) -> Precision:
    """The policy `name` on `device`; `dtype` (the API's `dtype=`) overrides the network's autocast dtype."""
    device = torch.device(device)
    if name == "exact":
        policy = Precision("exact", torch.float32, torch.float32, None)
    elif name == "fast":
        half = torch.bfloat16 if bf16_is_native(device) else torch.float32
        t5 = torch.float32 if device.type == "cpu" else None
        policy = Precision("fast", half, half, t5, stitch_silence=True)
    else:
        raise ConfigError(f"unknown precision {name!r}; choose one of {', '.join(PRECISIONS)}")
    if dtype is not None:
        policy = Precision(policy.name, dtype, policy.decode_dtype, policy.text_encoder_dtype, policy.stitch_silence)
    return policy


def autocast(device: torch.device, dtype: torch.dtype) -> AbstractContextManager:
    """torch.autocast for `dtype` on the device, or a no-op context for float32."""
    return nullcontext() if dtype == torch.float32 else torch.autocast(device.type, dtype=dtype)
