"""Weights and cached tensors read from files sit in 64-byte aligned memory, so a model loaded from a file
computes bit for bit like the same model built in memory (the CPU BLAS sums unaligned data in another
order: a one-row matmul then differs in the last bits, by where the file's buffer happened to land)."""

from __future__ import annotations

import torch
from safetensors.torch import save_file
from torch import nn

from audiox.checkpoints.aligned import CPU_ALIGNMENT, aligned, load_aligned
from audiox.checkpoints.load import load_into
from audiox.checkpoints.read import read_safetensors


def misaligned_copy(tensor: torch.Tensor, offset: int = 1) -> torch.Tensor:
    """The same values `offset` elements past a 64-byte boundary (as a file buffer may hand them out)."""
    buffer = torch.empty(tensor.numel() + 16, dtype=tensor.dtype)
    view = buffer[offset : offset + tensor.numel()].view(tensor.shape)
    view.copy_(tensor)
    assert view.data_ptr() % CPU_ALIGNMENT != 0
    return view


def is_aligned(tensor: torch.Tensor) -> bool:
    return tensor.numel() == 0 or tensor.data_ptr() % CPU_ALIGNMENT == 0


def test_aligned_copies_only_what_needs_it() -> None:
    ready = torch.randn(5, 7)
    assert aligned(ready) is ready
    moved = misaligned_copy(ready)
    fixed = aligned(moved)
    assert is_aligned(fixed) and torch.equal(fixed, ready) and fixed.dtype == ready.dtype


def test_files_are_read_into_aligned_memory(tmp_path) -> None:
    tensors = {f"w{i}": torch.randn(3 + i, 5) for i in range(12)} | {"ids": torch.arange(7), "h": torch.ones(3).half()}
    save_file(tensors, tmp_path / "w.safetensors")
    for read in (read_safetensors(tmp_path / "w.safetensors")[0], load_aligned(tmp_path / "w.safetensors")):
        assert all(is_aligned(t) for t in read.values())
        assert all(torch.equal(read[k], v) and read[k].dtype == v.dtype for k, v in tensors.items())


def test_a_model_loaded_from_unaligned_tensors_computes_like_the_original() -> None:
    torch.manual_seed(0)
    original = nn.Sequential(nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 256)).eval()
    state = {k: misaligned_copy(v) for k, v in original.state_dict().items()}
    with torch.device("meta"):
        loaded = nn.Sequential(nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 256)).eval()
    load_into(loaded, state, config_name="test", source="test")  # assigns: the module adopts the tensors
    assert all(is_aligned(p) for p in loaded.parameters())
    one_row = torch.randn(1, 64)  # a batch-1 projection: the case that is sensitive to alignment
    with torch.no_grad():
        assert torch.equal(loaded(one_row), original(one_row))
