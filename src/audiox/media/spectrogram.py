"""Spectrogram pictures without a plotting library: the log-magnitude STFT as an 8-bit greyscale PNG,
written by a tiny encoder (zlib + CRC chunks). Used for training demos and the README's examples."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import torch
from torch import Tensor


def png_bytes(image: Tensor) -> bytes:
    """image: (H, W) uint8 greyscale -> the bytes of a PNG file (no filtering, zlib level 6)."""
    if image.ndim != 2 or image.dtype != torch.uint8:
        raise ValueError(f"{image.shape=} {image.dtype=}, expected (H, W) uint8")
    height, width = image.shape
    rows = torch.cat([torch.zeros(height, 1, dtype=torch.uint8), image], dim=1)  # filter byte 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.contiguous().numpy().tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def spectrogram_image(audio: Tensor, *, n_fft: int = 256, hop: int = 64, floor_db: float = -80.0) -> Tensor:
    """audio: (C, S) -> (n_fft // 2 + 1, frames) uint8 image of the channel-mean log-magnitude STFT,
    low frequencies at the bottom, 0 dB (the peak) white, `floor_db` black."""
    mono = audio.float().mean(0)
    if mono.shape[0] < n_fft:
        mono = torch.nn.functional.pad(mono, (0, n_fft - mono.shape[0]))
    spec = torch.stft(mono, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True).abs()
    db = 20 * torch.log10(spec.clamp_min(1e-8) / spec.max().clamp_min(1e-8))  # (F, frames)
    scaled = ((db - floor_db) / -floor_db).clamp(0, 1) * 255
    return scaled.round().to(torch.uint8).flip(0)


def write_png(path: str | os.PathLike, image: Tensor) -> Path:
    """Write a (H, W) uint8 image as PNG atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(png_bytes(image))
    os.replace(tmp, path)
    return path
