"""What an embedder is: audio at its own sample rate in, named arrays out.

An embedder turns one mono clip, already resampled to `info.sample_rate`, into named outputs:
  "frames": (F, D) frame embeddings (FAD: rows of every clip pooled into one Gaussian, VGGish style),
  "clip":   (D,)   one clip embedding (FD: one row per clip, PANNs style),
  "logits": (K,)   class logits (KL, IS),
  "audio":  (D,)   a joint audio-text space embedding (CLAP score; the embedder also has `embed_text`).
Which metrics an embedder serves is in `METRIC_EMBEDDERS` (`embedders/__init__.py`). `info.sha256`
identifies the weights (the checkpoint file's hash, or a hash of a built-in model's state dict) and,
with `info.version`, keys the embedding cache.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from audiox.errors import CheckpointError


@dataclass(frozen=True, kw_only=True, slots=True)
class EmbedderInfo:
    name: str
    sample_rate: int
    checkpoint: str | None  # the file the weights came from; None for a built-in model
    sha256: str
    version: int  # bump when the preprocessing or outputs change, so cached embeddings are not reused
    mono: str = "mean"  # how a multichannel file becomes mono: "mean" of the channels or the "first"
    settings: str = ""  # options that change the outputs (e.g. the clip length a sync embedder cuts to)

    @property
    def cache_key(self) -> str:
        key = f"{self.name}-v{self.version}-{self.mono}-{self.sha256[:16]}"
        return f"{key}-{self.settings}" if self.settings else key

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "sample_rate": self.sample_rate,
            "checkpoint": self.checkpoint,
            "sha256": self.sha256,
            "version": self.version,
            **({"settings": self.settings} if self.settings else {}),
        }


class Embedder(Protocol):
    info: EmbedderInfo

    def embed(self, audio: torch.Tensor) -> dict[str, np.ndarray]:
        """audio: (S,) float32 mono (`info.mono`) at `info.sample_rate` -> named outputs (see above)."""
        ...


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def state_dict_sha256(state: dict[str, torch.Tensor]) -> str:
    """A hash of a state dict's names, shapes and values (for built-in models with no file)."""
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def require_file(path: Path | None, *, embedder: str, wanted: str, published: str) -> Path:
    """The checkpoint file an embedder needs, or a CheckpointError naming it and where it is published."""
    if path is None:
        raise CheckpointError(
            f"embedder {embedder!r} needs its weights: download {wanted} from {published} and pass "
            f"--embedder {embedder}=PATH (nothing is downloaded at run time)"
        )
    if not path.is_file():
        raise CheckpointError(
            f"{path}: not found; embedder {embedder!r} wants {wanted}, published at {published}"
        )
    return path
