"""Synchformer (Iashin et al. 2024) for DeSync, as MMAudio's av-benchmark uses it: the whole audio-visual
sync classifier (`audiox.evaluation.avsync`), loaded strictly from `synchformer_state_dict.pth`.

As an embedder it turns a generated clip (16 kHz, channel mean) into its audio segment features
"sync_audio": (N, 6, 768), N = segments of 0.64 s every 0.32 s in the first `clip_seconds` (default 8 s,
the benchmark's `audio_length`). `embed_video` does the same for a video file: (N, 8, 768) from 25 fps
frames; `window_logits` classifies the offset of the first and the last 14-segment window. Both kinds of
features are cached per file content (`settings` in the cache key carries the clip length).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from einops import rearrange

from audiox.checkpoints.load import load_into
from audiox.checkpoints.read import read_checkpoint
from audiox.conditioning.sync import encode_sync_features
from audiox.errors import InputError
from audiox.evaluation.avsync.audio_frontend import SEGMENT_STEP, audio_segments, log_mel_segments
from audiox.evaluation.avsync.classifier import PUBLISHED_SIZE, SyncClassifier, SyncClassifierSize
from audiox.evaluation.avsync.desync import FRAME_STEP, VIDEO_FPS, segments_in, window_starts
from audiox.evaluation.avsync.video_frames import read_sync_frames
from audiox.evaluation.embedders.base import EmbedderInfo, file_sha256, require_file

PUBLISHED = (
    "github.com/hkchengrex/MMAudio/releases/download/v0.1/synchformer_state_dict.pth (the same file is in "
    "the HKUSTAudio/AudioX-MAF hub repo)"
)
DEFAULT_CLIP_SECONDS = 8.0
MODEL_SIZE: SyncClassifierSize = PUBLISHED_SIZE  # tests swap in a tiny size
SAMPLES_PER_FRAME = SEGMENT_STEP // FRAME_STEP  # 640 samples of 16 kHz audio per 25 fps frame
VIDEO_SEGMENTS_PER_BATCH = 8


class SynchformerEmbedder:
    def __init__(self, model: SyncClassifier, info: EmbedderInfo, *, clip_frames: int, device: str) -> None:
        self.model, self.info, self.clip_frames, self.device = model.eval(), info, clip_frames, device
        self.video_info = EmbedderInfo(
            name="synchformer-video",
            sample_rate=VIDEO_FPS,
            checkpoint=info.checkpoint,
            sha256=info.sha256,
            version=info.version,
            settings=f"{clip_frames}f-{model.size.image_size}px",
        )

    @property
    def num_segments(self) -> int:
        """Segments per classified window (14 for the published model: 4.8 s)."""
        return self.model.size.num_segments

    @torch.no_grad()
    def embed(self, audio: torch.Tensor) -> dict[str, np.ndarray]:
        """audio: (S,) 16 kHz mono -> {"sync_audio": (N, 6, D)} over the first `clip_frames` / 25 s
        (N = 0 for a clip shorter than one 0.64 s segment)."""
        audio = audio[: self.clip_frames * SAMPLES_PER_FRAME].float()
        size, width = self.model.size, self.model.size.dim
        if segments_in(audio.shape[0] // SAMPLES_PER_FRAME) == 0:
            return {"sync_audio": np.zeros((0, self.model.afeat_extractor.time_patches, width), np.float32)}
        spec = log_mel_segments(
            audio_segments(audio), num_mel_bins=size.num_mel_bins, num_frames=size.spec_frames
        )
        return {"sync_audio": self.model.audio_features(spec.to(self.device)).float().cpu().numpy()}

    @torch.no_grad()
    def embed_video(self, path: Path) -> dict[str, np.ndarray]:
        """A video file -> {"sync_video": (N, 8, D)} over its first `clip_frames` 25 fps frames."""
        frames = read_sync_frames(path, max_frames=self.clip_frames, size=self.model.size.image_size)
        visual = self.model.vfeat_extractor
        if segments_in(frames.shape[0]) == 0:
            return {"sync_video": np.zeros((0, visual.temporal_resolution, self.model.size.dim), np.float32)}
        tokens = encode_sync_features(frames[None], visual, segments_per_batch=VIDEO_SEGMENTS_PER_BATCH)
        features = rearrange(tokens[0], "(n t) d -> n t d", t=visual.temporal_resolution)
        return {"sync_video": features.float().cpu().numpy()}

    @torch.no_grad()
    def window_logits(self, video: np.ndarray, audio: np.ndarray) -> np.ndarray:
        """video: (Nv, 8, D), audio: (Na, 6, D) segment features of one clip -> (2, classes) logits of its
        first and last window over the segments both have (InputError when that is under one window)."""
        available = min(len(video), len(audio))
        first, last = window_starts(available, self.num_segments)
        span = self.num_segments
        visual = torch.from_numpy(np.stack([video[first : first + span], video[last : last + span]]))
        sound = torch.from_numpy(np.stack([audio[first : first + span], audio[last : last + span]]))
        return self.model.compare(visual.to(self.device), sound.to(self.device)).float().cpu().numpy()


def clip_frames_of(seconds: float) -> int:
    """25 fps frames in `seconds` (the clip length DeSync looks at), at least one window's worth."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"--desync-seconds {seconds}: expected a positive number of seconds")
    return math.floor(seconds * VIDEO_FPS + 1e-6)


def load_synchformer(
    path: Path | None, *, device: str = "cpu", clip_seconds: float = DEFAULT_CLIP_SECONDS
) -> SynchformerEmbedder:
    """The av-benchmark's Synchformer from `synchformer_state_dict.pth` (or a `{"model": ...}` training
    checkpoint), read with weights_only=True and loaded strictly: every key of every branch, right shapes."""
    path = require_file(
        path, embedder="synchformer", wanted="synchformer_state_dict.pth", published=PUBLISHED
    )
    frames = clip_frames_of(clip_seconds)
    state, _ = read_checkpoint(path)
    with torch.device("meta"):
        model = SyncClassifier(MODEL_SIZE)
    load_into(model, state, config_name="Synchformer sync classifier (av-benchmark)", source=path.name)
    info = EmbedderInfo(
        name="synchformer",
        sample_rate=16000,
        checkpoint=str(path),
        sha256=file_sha256(path),
        version=1,
        mono="mean",
        settings=f"{frames}f",
    )
    return SynchformerEmbedder(
        model.requires_grad_(False).to(device), info, clip_frames=frames, device=device
    )
