"""Media -> conditioner inputs for one generation window, as the official demos prepare them.

Every official conditioner sees a fixed 10 s window: 10 s of video at the conditioner's fps (CLIP) and at
25 fps (Synchformer sync features), and a 10 s audio prompt. Absent modalities are zeros (video: the
learned empty feature takes over; sync: zeros; audio: silence), absent text is the official default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from audiox.conditioning.conditioner_set import VideoWithSync
from audiox.conditioning.sync import encode_sync_features
from audiox.conditioning.synchformer import Synchformer
from audiox.conditioning.text_t5 import T5TextConditioner
from audiox.conditioning.video_clip import SYNC_TOKENS, ClipSyncVideoConditioner, ClipVideoBase
from audiox.diffusion.model import DiffusionModel
from audiox.errors import CheckpointError
from audiox.media.video import read_video, read_video_prompt

CONDITIONING_WINDOW_S = 10.0  # official: every conditioner is built for 10 s windows
SYNC_FPS = 25.0


@dataclass(frozen=True)
class WindowMedia:
    """What one window is conditioned on. video: path or None; audio_prompt: (C, N) shared by the batch,
    (B, C, N) per item, or None (silence)."""

    text: str
    video: str | Path | None
    video_start_s: float
    audio_prompt: Tensor | None


def conditioner_inputs(
    model: DiffusionModel, media: WindowMedia, *, batch_size: int, synchformer: Synchformer | None,
    official_image_scaling: bool = True,
) -> dict[str, object]:
    """{conditioner id: input} for `ConditionerSet.forward`, every item repeated `batch_size` times."""
    inputs: dict[str, object] = {}
    for cond_id, conditioner in model.conditioner.conditioners.items():
        if isinstance(conditioner, T5TextConditioner):
            inputs[cond_id] = [media.text] * batch_size
        elif isinstance(conditioner, ClipVideoBase):
            video = _clip_frames(conditioner, media, official_image_scaling).expand(batch_size, -1, -1, -1, -1)
            if isinstance(conditioner, ClipSyncVideoConditioner):
                sync = _sync_features(conditioner, media, synchformer).expand(batch_size, -1, -1)
                inputs[cond_id] = VideoWithSync(video, sync)
            else:
                inputs[cond_id] = video
        else:
            inputs[cond_id] = _audio_prompt(model, conditioner, media).expand(batch_size, -1, -1)
    return inputs


def _clip_frames(conditioner: ClipVideoBase, media: WindowMedia, official_image_scaling: bool) -> Tensor:
    """(1, F, 3, size, size) pixel values in 0..255, zeros without a video (-> empty feature)."""
    tower = conditioner.visual_encoder_model
    size = tower.config.image_size if tower is not None else 224
    fps = conditioner.num_frames / CONDITIONING_WINDOW_S
    if media.video is None:
        return torch.zeros(1, conditioner.num_frames, 3, size, size)
    frames = read_video_prompt(
        media.video, fps=fps, start_s=media.video_start_s, duration_s=CONDITIONING_WINDOW_S, size=size,
        official_image_scaling=official_image_scaling,
    )
    return frames[None].float()


def _sync_features(conditioner: ClipSyncVideoConditioner, media: WindowMedia, synchformer: Synchformer | None) -> Tensor:
    """(1, 240, D) Synchformer features of the window at 25 fps; zeros without a video (official)."""
    if media.video is None:
        return torch.zeros(1, SYNC_TOKENS, conditioner.clip_width)
    if synchformer is None:
        raise CheckpointError(
            "this model adds Synchformer sync features to the video condition but none is loaded; put "
            "synchformer_state_dict.pth in the model folder or pass --synchformer PATH"
        )
    frames = read_video(
        media.video, fps=SYNC_FPS, start_s=media.video_start_s, duration_s=CONDITIONING_WINDOW_S,
        size=synchformer.image_size,
    )
    return encode_sync_features(frames[None], synchformer).to(device="cpu").float()  # (1, 240, 768)


def _audio_prompt(model: DiffusionModel, conditioner: torch.nn.Module, media: WindowMedia) -> Tensor:
    """(1 or B, C, N) audio prompt of exactly the conditioner's 10 s window; silence without one."""
    sample_rate = model.config.sample_rate
    channels = conditioner.pretransform.io_channels
    length = round(CONDITIONING_WINDOW_S * sample_rate)
    if media.audio_prompt is None:
        return torch.zeros(1, channels, length)
    prompt = media.audio_prompt
    return prompt[None] if prompt.dim() == 2 else prompt


def to_device(value, device: torch.device):
    """A conditioner input (a tensor, or a named tuple of them) on `device`; anything else as it is."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(to_device(v, device) for v in value))
    return value
