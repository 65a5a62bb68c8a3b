"""VGGish (Hershey et al. 2017), the embedder of the Frechet Audio Distance (Kilgour et al. 2019; fadtk).

Our implementation of the architecture; attribute names are the keys of the PyTorch port's weights
`vggish-10086976.pth` (github.com/harritaylor/torchvggish releases): `features.{0,3,6,8,11,13}.*` (six
3x3 convolutions with max pooling after the 1st, 2nd, 4th and 6th) and `embeddings.{0,2,4}.*` (4096, 4096,
128), loaded strictly. As fadtk does, the 128-d output of the last layer is used raw: no final ReLU
(the TF original has none; the port adds one) and no PCA / 8-bit quantisation.

Front end (VGGish's `waveform_to_examples`, in numpy): 16 kHz mono (channel mean); 25 ms periodic-Hann
frames every 10 ms, no padding, |rfft| with n_fft 512; 64 HTK-mel bands 125-7500 Hz (DC bin dropped);
log(mel + 0.01); non-overlapping 0.96 s examples of 96 x 64 -> "frames": (N, 128), pooled over every clip
for FAD. A clip shorter than one example is zero-padded to one (the original would give no rows).
Resampling uses audiox's sinc resampler (the original uses resampy).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from audiox.checkpoints.load import load_into
from audiox.checkpoints.read import read_checkpoint
from audiox.evaluation.embedders.base import EmbedderInfo, file_sha256, require_file

VGGISH_RATE = 16000
WINDOW, HOP, N_FFT, N_MELS, EXAMPLE = 400, 160, 512, 64, 96
RELEASES = "https://github.com/harritaylor/torchvggish/releases (vggish-10086976.pth)"


def vggish_mel_matrix() -> np.ndarray:
    """(257, 64) HTK-mel weights over |rfft| bins, 125-7500 Hz, the DC bin's row zeroed."""

    def to_mel(hz):
        return 1127.0 * np.log(1.0 + np.asarray(hz) / 700.0)

    bins_mel = to_mel(np.linspace(0.0, VGGISH_RATE / 2, N_FFT // 2 + 1))
    edges = np.linspace(to_mel(125.0), to_mel(7500.0), N_MELS + 2)
    lower = (bins_mel[:, None] - edges[None, :-2]) / (edges[1:-1] - edges[:-2])
    upper = (edges[None, 2:] - bins_mel[:, None]) / (edges[2:] - edges[1:-1])
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights[0, :] = 0.0
    return weights


def vggish_examples(audio: np.ndarray) -> np.ndarray:
    """audio: (S,) at 16 kHz -> log-mel examples (N, 96, 64) float32, N = frames // 96 (at least 1)."""
    need = WINDOW + (EXAMPLE - 1) * HOP  # samples of one full example
    if audio.size < need:
        audio = np.pad(audio, (0, need - audio.size))
    frames = np.lib.stride_tricks.sliding_window_view(audio.astype(np.float64), WINDOW)[::HOP]  # (T, 400)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)  # periodic Hann
    magnitude = np.abs(np.fft.rfft(frames * window, N_FFT))  # (T, 257)
    log_mel = np.log(magnitude @ vggish_mel_matrix() + 0.01)  # (T, 64)
    count = log_mel.shape[0] // EXAMPLE
    return log_mel[: count * EXAMPLE].reshape(count, EXAMPLE, N_MELS).astype(np.float32)


def _features() -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 1
    for width, pool in ((64, True), (128, True), (256, False), (256, True), (512, False), (512, True)):
        layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
        if pool:
            layers.append(nn.MaxPool2d(2, 2))
        channels = width
    return nn.Sequential(*layers)


class VGGish(nn.Module):
    """VGGish without its final ReLU (fadtk's convention). Attribute names are the published keys."""

    def __init__(self) -> None:
        super().__init__()
        self.features = _features()
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 4 * 6, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 128)
        )

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        """examples: (N, 1, 96, 64) log-mel -> (N, 128)."""
        x = self.features(examples)  # (N, 512, 6, 4)
        x = x.permute(0, 2, 3, 1).flatten(1)  # (N, 6 * 4 * 512), the TF (H, W, C) order the weights expect
        return self.embeddings(x)


class VGGishEmbedder:
    def __init__(self, model: VGGish, info: EmbedderInfo, device: str = "cpu") -> None:
        self.model, self.info, self.device = model.eval(), info, device

    @torch.no_grad()
    def embed(self, audio: torch.Tensor) -> dict[str, np.ndarray]:
        """audio: (S,) mono at 16 kHz -> {"frames": (N, 128)}, one row per 0.96 s."""
        examples = torch.from_numpy(vggish_examples(audio.double().cpu().numpy()))[:, None]  # (N, 1, 96, 64)
        return {"frames": self.model(examples.to(self.device)).double().cpu().numpy()}


def load_vggish(path: Path | None, *, device: str = "cpu") -> VGGishEmbedder:
    """VGGish from the PyTorch port's published .pth (weights_only read, strict load)."""
    path = require_file(path, embedder="vggish", wanted="vggish-10086976.pth", published=RELEASES)
    state, _ = read_checkpoint(path)
    model = VGGish()
    load_into(model, state, config_name="VGGish (torchvggish layout)", source=path.name)
    info = EmbedderInfo(name="vggish", sample_rate=VGGISH_RATE, checkpoint=str(path),
                        sha256=file_sha256(path), version=1)
    return VGGishEmbedder(model.to(device), info, device)
