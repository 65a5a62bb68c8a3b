"""Spectrogram PNGs: a valid PNG whose pixels decode back exactly, and a picture that shows where the tone is."""

from __future__ import annotations

import struct
import zlib

import pytest
import torch

from audiox.media.spectrogram import png_bytes, spectrogram_image, write_png


def _decode(data: bytes) -> torch.Tensor:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat_len = struct.unpack(">I", data[33:37])[0]
    assert data[37:41] == b"IDAT"
    rows = torch.frombuffer(bytearray(zlib.decompress(data[41 : 41 + idat_len])), dtype=torch.uint8)
    rows = rows.reshape(height, width + 1)
    assert (rows[:, 0] == 0).all()  # filter type "none" on every row
    return rows[:, 1:]


def test_png_round_trips_pixels(tmp_path):
    image = torch.randint(0, 256, (5, 7), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(_decode(png_bytes(image)), image)
    path = write_png(tmp_path / "x.png", image)
    assert torch.equal(_decode(path.read_bytes()), image) and not list(tmp_path.glob("*.tmp"))


def test_png_rejects_non_uint8_images():
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(torch.zeros(3, 3))


def test_spectrogram_puts_a_tone_in_its_frequency_row_low_frequencies_at_the_bottom():
    rate, n_fft = 8000, 256
    t = torch.arange(rate) / rate
    audio = torch.sin(2 * torch.pi * 1000 * t)[None]  # 1 kHz = bin 32 of 129
    image = spectrogram_image(audio, n_fft=n_fft, hop=64)
    assert image.shape[0] == n_fft // 2 + 1
    brightest_row = int(image.float().mean(1).argmax())
    assert brightest_row == n_fft // 2 - 32  # flipped: bin 0 is the last row
