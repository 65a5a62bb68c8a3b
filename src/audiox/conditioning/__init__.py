"""Conditioning stage: text (T5), video (CLIP + temporal transformer, sync) and audio-prompt conditioners."""

from audiox.conditioning.audio_latent import AudioLatentConditionerV1, AudioLatentConditionerV2, SpanMaskDraws
from audiox.conditioning.conditioner_set import ConditionerSet, VideoWithSync, build_conditioner
from audiox.conditioning.temporal import TemporalTransformer
from audiox.conditioning.text_t5 import T5TextConditioner, T5TextEncoder, load_t5_text_encoder
from audiox.conditioning.video_clip import ClipSyncVideoConditioner, ClipVideoConditioner

__all__ = [
    "AudioLatentConditionerV1",
    "AudioLatentConditionerV2",
    "ClipSyncVideoConditioner",
    "ClipVideoConditioner",
    "ConditionerSet",
    "SpanMaskDraws",
    "T5TextConditioner",
    "T5TextEncoder",
    "TemporalTransformer",
    "VideoWithSync",
    "build_conditioner",
    "load_t5_text_encoder",
]
