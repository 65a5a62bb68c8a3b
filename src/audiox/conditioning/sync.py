"""Synchformer sync features for 25 fps video, and the strict loader of `synchformer_state_dict.pth`.

Official path (AudioX-Turbo `encode_video_with_synchformer`, identical to MMAudio `encode_video_with_sync`):
frames (B, 250, 3, 224, 224) in [0, 1] -> normalise with mean 0.5 / std 0.5 -> 16-frame windows with
stride 8 (S = (250 - 16) // 8 + 1 = 30 segments, trailing frames dropped) -> Synchformer per segment
-> (B, S, 8, 768) -> (B, S * 8 = 240, 768), segment-major.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from einops import rearrange

from audiox.conditioning.synchformer import Synchformer
from audiox.errors import CheckpointError, InputError

SYNC_MEAN = 0.5
SYNC_STD = 0.5
CHECKPOINT_PREFIX = "vfeat_extractor."  # official key = CHECKPOINT_PREFIX + our key
_RANGE_SLACK = 1e-3  # float frames may overshoot [0, 1] by this much (resampling round-off)
_SHOW = 5  # how many offending keys an error message lists


def normalize_sync_frames(frames: torch.Tensor) -> torch.Tensor:
    """frames: (..., 3, H, W) uint8 or float in [0, 1] -> float in [-1, 1] ((x - 0.5) / 0.5).

    uint8 codes are scaled as the official torchvision `ToDtype(float32, scale=True)` does, by multiplying
    with 1 / 255 (not dividing by 255, which differs by 1 ulp on about half the codes), so the result is
    bit-identical to the official preprocessing.
    """
    if frames.dtype == torch.uint8:
        frames = frames.to(torch.float32).mul_(1.0 / 255)
    return (frames - SYNC_MEAN) / SYNC_STD


def num_segments(num_frames: int, *, window: int, stride: int) -> int:
    """How many `window`-frame segments with step `stride` fit in `num_frames` (official floor rule)."""
    return (num_frames - window) // stride + 1


def _check_frames(
    frames: torch.Tensor, synchformer: Synchformer, *, window: int, stride: int, normalized: bool
) -> None:
    size = synchformer.image_size
    if frames.ndim != 5 or frames.shape[2:] != (synchformer.in_channels, size, size):
        channels = synchformer.in_channels
        raise InputError(f"{tuple(frames.shape)=}, expected (B, F, {channels}, {size}, {size})")
    if normalized and not frames.dtype.is_floating_point:
        raise InputError(f"{frames.dtype=}: normalized frames are float in [-1, 1]")
    if frames.dtype != torch.uint8 and not frames.dtype.is_floating_point:
        raise InputError(f"{frames.dtype=}: pass uint8 frames or float frames in [0, 1]")
    if frames.dtype.is_floating_point and frames.numel() > 0:
        low, high = frames.min().item(), frames.max().item()
        floor = -1.0 if normalized else 0.0
        if low < floor - _RANGE_SLACK or high > 1 + _RANGE_SLACK:
            hint = "(x - 0.5) / 0.5" if normalized else "uint8 frames or x / 255"
            raise InputError(f"float frames span [{low:.3g}, {high:.3g}], expected [{floor:g}, 1]: pass {hint}")
    if window != synchformer.frames_per_segment:
        raise InputError(f"{window=}, but this Synchformer takes {synchformer.frames_per_segment} frames")
    if stride < 1:
        raise InputError(f"{stride=}, expected a positive frame step")
    if frames.shape[1] < window:
        raise InputError(f"{frames.shape[1]} frames, expected at least {window} (one segment)")


@torch.no_grad()
def encode_sync_features(
    frames: torch.Tensor,
    synchformer: Synchformer,
    *,
    window: int = 16,
    stride: int = 8,
    segments_per_batch: int | None = None,
    normalized: bool = False,
) -> torch.Tensor:
    """frames: (B, F, 3, H, W) uint8 or float in [0, 1] at 25 fps -> sync features (B, S * 8, 768).

    S = (F - window) // stride + 1; official: F = 250 -> S = 30 -> 240 tokens. Segments go through
    `synchformer` `segments_per_batch` at a time (None: all segments of one video at once); the result
    does not depend on the batching. Runs without autograd; chunks are moved to the model's device.
    normalized: the frames are float and already normalised to [-1, 1] (what the official
    `encode_video_with_sync` receives), so they go to the model as they are.
    """
    _check_frames(frames, synchformer, window=window, stride=stride, normalized=normalized)
    count = num_segments(frames.shape[1], window=window, stride=stride)
    chunk = count if segments_per_batch is None else segments_per_batch
    if chunk < 1:
        raise InputError(f"{segments_per_batch=}, expected a positive number of segments")
    device = synchformer.pos_embed.device
    windows = frames.unfold(1, window, stride)  # (B, S, C, H, W, window), a view
    features = []
    for item in windows:
        parts = []
        for start in range(0, count, chunk):
            segs = rearrange(item[start : start + chunk], "s c h w t -> s t c h w")
            segs = segs.to(device)
            parts.append(synchformer(segs if normalized else normalize_sync_frames(segs)))  # (s, F', D)
        features.append(rearrange(torch.cat(parts), "s f d -> (s f) d"))
    return torch.stack(features)  # (B, S * F', D)


def read_synchformer_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read `synchformer_state_dict.pth` safely; keep `vfeat_extractor.*` with the prefix stripped."""
    path = Path(path)
    return synchformer_weights(_read_checkpoint(path), source=str(path))


def _read_checkpoint(path: Path) -> Mapping:
    """The raw state dict in `path` (torch.load with weights_only=True); CheckpointError if unreadable."""
    if not path.is_file():
        raise CheckpointError(
            f"{path}: Synchformer checkpoint not found; pass the path of synchformer_state_dict.pth"
        )
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointError(
            f"{path}: not readable with torch.load(weights_only=True) ({type(err).__name__}); "
            "pass the official synchformer_state_dict.pth (a plain state dict)"
        ) from err
    if not isinstance(raw, Mapping):
        raise CheckpointError(f"{path}: holds a {type(raw).__name__}, expected a plain state dict")
    return raw


def synchformer_weights(raw: Mapping, *, source: str) -> dict[str, torch.Tensor]:
    """The official loader's filter: keep the `vfeat_extractor.*` keys of a Synchformer training state dict
    (which also holds the audio branch and the fusion transformer), prefix stripped; `source` names it."""
    cut = len(CHECKPOINT_PREFIX)
    kept = {key[cut:]: value for key, value in raw.items() if str(key).startswith(CHECKPOINT_PREFIX)}
    if not kept:
        sample = ", ".join(list(map(str, raw))[:_SHOW])
        raise CheckpointError(
            f"{source}: no '{CHECKPOINT_PREFIX}*' keys among {len(raw)} (first: {sample}); "
            "expected the official synchformer_state_dict.pth"
        )
    return kept


def _first(names: list[str]) -> str:
    return ", ".join(names[:_SHOW]) if names else "-"


def check_synchformer_keys(model: Synchformer, weights: Mapping[str, object], *, source: str) -> None:
    """Raise CheckpointError naming `source` unless `weights` has exactly the model's keys and shapes."""
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    missing = [CHECKPOINT_PREFIX + key for key in expected if key not in weights]
    unexpected = [CHECKPOINT_PREFIX + key for key in weights if key not in expected]
    mismatched = []
    for key in [key for key in expected if key in weights]:
        value = weights[key]
        found = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        if found != expected[key]:
            mismatched.append(f"{CHECKPOINT_PREFIX}{key} {found} vs model {expected[key]}")
    if missing or unexpected or mismatched:
        raise CheckpointError(
            f"{source}: Synchformer weights do not match the model: {len(missing)} missing "
            f"(first {_SHOW}: {_first(missing)}), {len(unexpected)} unexpected (first {_SHOW}: "
            f"{_first(unexpected)}), {len(mismatched)} shape mismatches (first {_SHOW}: {_first(mismatched)})"
        )


def load_synchformer(path: str | Path, *, model: Synchformer | None = None) -> Synchformer:
    """Strictly load `synchformer_state_dict.pth` (keys `vfeat_extractor.*`) into a Synchformer.

    model: the module to fill (default: the official full-size `Synchformer()`, built without random
    init). Returns it in eval mode with gradients off; raises CheckpointError on any key/shape mismatch.
    """
    return load_synchformer_state(_read_checkpoint(Path(path)), model=model, source=str(path))


def load_synchformer_state(
    raw: Mapping, *, model: Synchformer | None = None, source: str = "Synchformer state dict"
) -> Synchformer:
    """`load_synchformer` for a state dict already in memory, keyed as `synchformer_state_dict.pth` is
    (`vfeat_extractor.*`, other keys ignored); errors name `source`."""
    weights = synchformer_weights(raw, source=source)
    if model is None:
        with torch.device("meta"):
            model = Synchformer()
        model = model.to_empty(device="cpu")
    check_synchformer_keys(model, weights, source=source)
    model.load_state_dict(weights, strict=True)
    return model.eval().requires_grad_(False)
