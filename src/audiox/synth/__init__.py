"""A seeded procedural audio-visual world: sound-event scenes and music clips with videos, stills,
structured labels and composed captions (for training and benchmarking small models)."""

from audiox.synth.captions import compose_caption
from audiox.synth.dataset import SynthConfig, SynthDataset, SynthStream, collate_synth, render_item
from audiox.synth.events import EVENT_KINDS, EventSound, render_event, sample_event_sound
from audiox.synth.labels import EventLabel, MusicLabels, SceneLabels, labels_from_dict, labels_to_dict
from audiox.synth.music import render_music, sample_music
from audiox.synth.scenes import render_scene, sample_scene
from audiox.synth.video import render_still, render_video

__all__ = [
    "EVENT_KINDS",
    "EventLabel",
    "EventSound",
    "MusicLabels",
    "SceneLabels",
    "SynthConfig",
    "SynthDataset",
    "SynthStream",
    "collate_synth",
    "compose_caption",
    "labels_from_dict",
    "labels_to_dict",
    "render_event",
    "render_item",
    "render_music",
    "render_scene",
    "render_still",
    "render_video",
    "sample_event_sound",
    "sample_music",
    "sample_scene",
]
