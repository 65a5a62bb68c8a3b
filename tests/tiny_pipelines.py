"""Tiny random-weight pipelines (both families), a saved tiny model folder and tiny media files, built once
per session; registered as a pytest plugin by tests/conftest.py so every test folder can use the fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from audiox.conditioning.synchformer import Synchformer
from audiox.conditioning.tiny_encoders import tiny_conditioner_options, tiny_t5
from audiox.config.presets import tiny_config
from audiox.diffusion.model import DiffusionModel
from audiox.pipeline import AudioX
from audiox.pipeline.load import save_pipeline
from tests.media.factory import encode_image, encode_video, write_sound

SYNCHFORMER_SIZES = {"image_size": 32, "patch_size": 16, "dim": 32, "depth": 1, "num_heads": 2}
FAST = {"steps": 2}


def tiny_pipeline(backbone: str) -> AudioX:
    model = DiffusionModel(tiny_config(backbone), text_encoder=tiny_t5(), conditioner_options=tiny_conditioner_options())
    return AudioX(model, synchformer=Synchformer(**SYNCHFORMER_SIZES))


@pytest.fixture(scope="session", params=["dit", "mmdit"])
def pipe(request) -> AudioX:
    return tiny_pipeline(request.param)


@pytest.fixture(scope="session")
def dit_pipe() -> AudioX:
    return tiny_pipeline("dit")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, dit_pipe):
    options = tiny_conditioner_options()
    return save_pipeline(
        dit_pipe,
        tmp_path_factory.mktemp("tiny_model"),
        options={
            "vision_config": options["vision_config"].to_dict(),
            "temporal_sizes": options["temporal_sizes"],
            "text_encoder_dtype": "float32",
            "synchformer": SYNCHFORMER_SIZES,
        },
    )


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict:
    """A 4 s 8 fps video, a PNG, and a 6 s stereo WAV at 2048 Hz."""
    root = tmp_path_factory.mktemp("media")
    frames = [np.full((48, 64, 3), (i * 9) % 256, np.uint8) for i in range(32)]
    t = np.arange(6 * 2048) / 2048
    sound = np.stack([0.5 * np.sin(2 * np.pi * 110 * t), 0.3 * np.sin(2 * np.pi * 220 * t)]).astype(np.float32)
    return {
        "video": encode_video(root / "clip.mkv", frames, 8),
        "image": encode_image(root / "still.png", frames[10]),
        "audio": write_sound(root / "take.wav", sound, 2048),
    }
