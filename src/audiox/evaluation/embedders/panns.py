"""PANNs CNN14 (Kong et al. 2020), the classifier behind FD, KL and IS in the AudioLDM evaluation.

Our implementation of the architecture; attribute names are the published checkpoint's keys
(`spectrogram_extractor.stft.conv_real.weight`, `logmel_extractor.melW`, `bn0.*`, `conv_block1.conv1.weight`,
... `fc1.*`, `fc_audioset.*`), loaded strictly from the file's `model` dict. Weights (Zenodo):
  Cnn14_16k_mAP=0.438.pth  16 kHz, n_fft 512, hop 160, 64 mels 50-8000 Hz  (audioldm_eval's default)
  Cnn14_mAP=0.431.pth      32 kHz, n_fft 1024, hop 320, 64 mels 50-14000 Hz
The variant is read off the checkpoint (the STFT kernel width).

Outputs as audioldm_eval uses them (eval mode, so no dropout):
  "clip":   (2048,) relu(fc1(pooled)), its "2048" features -> FD,
  "logits": (527,)  fc_audioset(relu(fc1(pooled))) before the sigmoid, its "logits" -> KL, IS.
Preprocessing as its WaveDataset: the first channel only, minus its mean, resampled, zero-padded to at least
2 s (official quirk, kept: a short clip is scored with trailing silence).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from audiox.checkpoints.load import load_into
from audiox.checkpoints.read import read_checkpoint
from audiox.errors import CheckpointError
from audiox.evaluation.embedders.base import EmbedderInfo, file_sha256, require_file
from audiox.evaluation.embedders.log_mel import LogmelFilterBank, Spectrogram

ZENODO = "https://zenodo.org/records/3987831 (Cnn14_16k_mAP=0.438.pth; 32 kHz: records/3576403)"
MIN_SECONDS = 2.0


@dataclass(frozen=True, kw_only=True, slots=True)
class PannsVariant:
    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int = 64
    fmin: float = 50.0
    fmax: float
    num_classes: int = 527


PANNS_VARIANTS = {  # keyed by n_fft, the width of the checkpoint's STFT kernels
    512: PannsVariant(sample_rate=16000, n_fft=512, hop_length=160, fmax=8000.0),
    1024: PannsVariant(sample_rate=32000, n_fft=1024, hop_length=320, fmax=14000.0),
}
CHANNELS = (1, 64, 128, 256, 512, 1024, 2048)


class ConvBlock(nn.Module):
    """(conv3x3 -> BN -> ReLU) x 2, then average pooling."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, pool: tuple[int, int]) -> torch.Tensor:
        """x: (B, C, T, M) -> (B, C', T / pool, M / pool)."""
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.avg_pool2d(x, kernel_size=pool)


class Cnn14(nn.Module):
    """CNN14 in eval mode: log-mel -> BN over mel bins -> 6 conv blocks -> time max + mean -> fc1 -> classes.
    Attribute names are the published keys (module docstring); `channels` only shrinks it for tests."""

    def __init__(self, variant: PannsVariant, *, channels: tuple[int, ...] = CHANNELS) -> None:
        super().__init__()
        v = variant
        self.spectrogram_extractor = Spectrogram(n_fft=v.n_fft, hop_length=v.hop_length)
        self.logmel_extractor = LogmelFilterBank(sample_rate=v.sample_rate, n_fft=v.n_fft, n_mels=v.n_mels,
                                                 fmin=v.fmin, fmax=v.fmax)
        self.bn0 = nn.BatchNorm2d(v.n_mels)
        for i in range(6):
            setattr(self, f"conv_block{i + 1}", ConvBlock(channels[i], channels[i + 1]))
        self.fc1 = nn.Linear(channels[-1], channels[-1])
        self.fc_audioset = nn.Linear(channels[-1], v.num_classes)

    def forward(self, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        """audio: (B, S) -> {"clip": (B, 2048) embedding, "logits": (B, 527) pre-sigmoid}."""
        x = self.logmel_extractor(self.spectrogram_extractor(audio))  # (B, 1, T, M)
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)  # BN per mel bin
        for i in range(6):
            x = getattr(self, f"conv_block{i + 1}")(x, (2, 2) if i < 5 else (1, 1))  # (B, C, T', M')
        x = x.mean(dim=3)  # (B, C, T')
        x = x.max(dim=2).values + x.mean(dim=2)  # (B, C)
        embedding = F.relu(self.fc1(x))
        return {"clip": embedding, "logits": self.fc_audioset(embedding)}


class PannsEmbedder:
    def __init__(self, model: Cnn14, variant: PannsVariant, info: EmbedderInfo, device: str = "cpu") -> None:
        self.model, self.variant, self.info, self.device = model.eval(), variant, info, device

    @torch.no_grad()
    def embed(self, audio: torch.Tensor) -> dict[str, np.ndarray]:
        """audio: (S,) first channel at the variant's rate -> {"clip": (2048,), "logits": (527,)}."""
        audio = audio - audio.mean()
        short = round(MIN_SECONDS * self.variant.sample_rate) - audio.shape[-1]
        if short > 0:
            audio = F.pad(audio, (0, short))
        out = self.model(audio[None].float().to(self.device))
        return {k: v[0].double().cpu().numpy() for k, v in out.items()}


def panns_variant_of(state: dict[str, torch.Tensor], source: str) -> PannsVariant:
    kernel = state.get("spectrogram_extractor.stft.conv_real.weight")
    if kernel is None or kernel.shape[-1] not in PANNS_VARIANTS:
        raise CheckpointError(f"{source}: not a PANNs CNN14 checkpoint (no 512- or 1024-wide "
                              "spectrogram_extractor.stft.conv_real.weight); want Cnn14_16k_mAP=0.438.pth")
    return PANNS_VARIANTS[kernel.shape[-1]]


def load_panns(path: Path | None, *, device: str = "cpu") -> PannsEmbedder:
    """PANNs CNN14 from its published .pth (read with weights_only=True, loaded strictly)."""
    path = require_file(path, embedder="panns", wanted="Cnn14_16k_mAP=0.438.pth", published=ZENODO)
    state, _ = read_checkpoint(path)
    variant = panns_variant_of(state, path.name)
    model = Cnn14(variant)
    load_into(model, state, config_name=f"PANNs CNN14 {variant.sample_rate // 1000} kHz", source=path.name)
    info = EmbedderInfo(name="panns", sample_rate=variant.sample_rate, checkpoint=str(path),
                        sha256=file_sha256(path), version=1, mono="first")
    return PannsEmbedder(model.to(device), variant, info, device)
