"""Tensors read from files, placed in memory so that results reproduce bit for bit.

Why: `safetensors` hands out tensors at whatever offset its read buffer has (often only 4-byte aligned, and
a different offset in every process), while PyTorch's own CPU allocator aligns every tensor to 64 bytes.
The CPU BLAS (MKL) takes a different summation order for data that is not 16-byte aligned: a one-row
`F.linear` (the timestep embedding, MAF gating, any batch-1 projection) then differs in the last bits. So a
model loaded from a file computed slightly differently from the same model in memory, and a generation with
a fixed seed could differ between two runs of the same command. Every tensor that goes into a model by
assignment, or is fed to it straight from a file, passes through `aligned`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

CPU_ALIGNMENT = 64  # bytes: the alignment of PyTorch's CPU allocator


def aligned(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` itself when its data starts on a 64-byte boundary (or it is empty / not on the CPU), else a
    copy in freshly allocated (aligned) memory. Same shape, dtype and values."""
    if tensor.device.type != "cpu" or tensor.numel() == 0 or tensor.data_ptr() % CPU_ALIGNMENT == 0:
        return tensor
    return tensor.clone()


def load_aligned(path: str | Path) -> dict[str, torch.Tensor]:
    """`safetensors.torch.load_file(path)` with every tensor `aligned`."""
    return {key: aligned(value) for key, value in load_file(str(path)).items()}
