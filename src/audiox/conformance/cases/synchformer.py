"""Golden-vector case runner for the Synchformer video encoder (`synchformer_encoder`).

The case records the official `FeaturesUtils.encode_video_with_sync(video)`: 16-frame segments with
stride 8 -> MotionFormer -> per-segment temporal tokens, output `sync_features` (B, S * t, D), plus
intermediates of every segment in `(b s)` row order. Sizes come from `config.json["model"]`:
`motionformer_cfg` (the official yaml names) and `encode_video_with_sync`; values a set leaves out take the
official ones (the defaults of our `Synchformer`). `batch_size` (how many segments the official call runs
at once) is not read: segments are independent, so it only changes the chunking. The state dict is keyed as
`synchformer_state_dict.pth` and goes through the loader users use for that file.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor

from audiox.conditioning.sync import encode_sync_features, load_synchformer_state
from audiox.conditioning.synchformer import Synchformer
from audiox.conformance.case import Case
from audiox.conformance.kinds import CaseKind
from audiox.errors import InputError

_VIT_SIZES = {  # official MotionFormer yaml name -> our Synchformer keyword
    "PATCH_SIZE": "patch_size",
    "PATCH_SIZE_TEMP": "tubelet_size",
    "TEMPORAL_RESOLUTION": "temporal_resolution",
    "CHANNELS": "in_channels",
    "EMBED_DIM": "dim",
    "DEPTH": "depth",
    "NUM_HEADS": "num_heads",
}
_SEGMENTING = {"segment_size": 16, "step_size": 8}  # official hard-coded values of encode_video_with_sync


def synchformer_kwargs(model_cfg: dict[str, Any]) -> dict[str, Any]:
    """Our `Synchformer` keywords from a case's `config.json["model"]` (official yaml names)."""
    cfg = model_cfg.get("motionformer_cfg", {})
    vit, data = cfg.get("VIT", {}), cfg.get("DATA", {})
    kwargs: dict[str, Any] = {ours: int(vit[name]) for name, ours in _VIT_SIZES.items() if name in vit}
    if "MLP_RATIO" in vit:
        kwargs["mlp_ratio"] = float(vit["MLP_RATIO"])
    if "QKV_BIAS" in vit:
        kwargs["qkv_bias"] = bool(vit["QKV_BIAS"])
    if "TRAIN_CROP_SIZE" in data:
        kwargs["image_size"] = int(data["TRAIN_CROP_SIZE"])
    return kwargs


def segmenting(model_cfg: dict[str, Any]) -> tuple[int, int]:
    """(segment_size, step_size) of `encode_video_with_sync` (official 16, 8)."""
    call = {**_SEGMENTING, **model_cfg.get("encode_video_with_sync", {})}
    return int(call["segment_size"]), int(call["step_size"])


def build_synchformer(case: Case) -> Synchformer:
    """Our Synchformer at the case's sizes, weights strictly loaded from its `vfeat_extractor.*` state dict."""
    model_cfg = case.config["model"]
    kwargs = synchformer_kwargs(model_cfg)
    frame = model_cfg.get("encode_video_with_sync", {}).get("frame_size")
    crop = case.config.get("harness_substitutions", {}).get("patch_embed", {}).get("img_size")
    size = kwargs.get("image_size", inspect.signature(Synchformer).parameters["image_size"].default)
    for name, value in (("encode_video_with_sync.frame_size", frame), ("patch_embed.img_size", crop)):
        if value is not None and int(value) != size:
            raise InputError(f"{case.name}: {name} {value} differs from the crop size {size}")
    with torch.device("meta"):
        model = Synchformer(**kwargs)
    model = model.to_empty(device="cpu")
    return load_synchformer_state(case.state_dict, model=model, source=f"{case.name}/state_dict.safetensors")


@contextmanager
def recorded_intermediates(model: Synchformer) -> Iterator[dict[str, list[Tensor]]]:
    """Forward hooks that record the case's `debug_*` tensors, one entry per model call (segment chunk)."""
    seen: dict[str, list[Tensor]] = defaultdict(list)

    def keep(name: str, pre: bool = False):
        if pre:
            return lambda module, args: seen[name].append(args[0].detach().clone())
        return lambda module, args, out: seen[name].append(out.detach().clone())

    block0 = model.blocks[0]
    hooks = [
        model.patch_embed_3d.register_forward_hook(keep("debug_patch_embed_3d")),
        block0.register_forward_pre_hook(keep("debug_tokens_in", pre=True)),
        block0.timeattn.register_forward_hook(keep("debug_block_0_timeattn_out")),
        block0.attn.register_forward_hook(keep("debug_block_0_spaceattn_out")),
        model.norm.register_forward_hook(keep("debug_pre_agg")),
        model.register_forward_hook(keep("debug_spatial_agg")),  # (N, t, D): the pooled tokens per segment
    ]
    hooks += [block.register_forward_hook(keep(f"debug_block_{i}")) for i, block in enumerate(model.blocks)]
    try:
        yield seen
    finally:
        for hook in hooks:
            hook.remove()


def run_synchformer_encoder(case: Case) -> dict[str, Tensor]:
    """sync_features of `video` (already in [-1, 1]) with every intermediate, and of `video_uint8` through
    our own preprocessing (`sync_features@video_uint8`, compared with the same reference)."""
    model = build_synchformer(case)
    window, stride = segmenting(case.config["model"])
    video = case.inputs["video"].float()  # (B, T, C, H, W)
    with recorded_intermediates(model) as seen:
        features = encode_sync_features(video, model, window=window, stride=stride, normalized=True)
    ours = {"sync_features": features}
    ours |= {name: torch.cat(chunks) for name, chunks in seen.items()}  # chunks come in (b s) row order
    if "video_uint8" in case.inputs:
        frames = case.inputs["video_uint8"]
        ours["sync_features@video_uint8"] = encode_sync_features(frames, model, window=window, stride=stride)
    return ours


CASE_KINDS: dict[str, CaseKind] = {"synchformer_encoder": CaseKind(run_synchformer_encoder)}
