"""The web UI's clickable examples: prompts the shipped model knows, and media from the synthetic world
(`audiox.synth`) written once into the server's folder, so every example works offline."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import torch

from audiox.media.audio import atomic_output, write_audio
from audiox.synth.dataset import SynthConfig, render_item

PROMPTS = [
    ("two knocks then a bell", "auto"),
    ("A whistle, followed by three claps.", "auto"),
    ("Between 1s and 3s, a drum is struck twice; between 6s and 8s, a buzzer buzzes once.", "auto"),
    ("A calm piano melody with bass in C major at 90 BPM.", "music"),
]
VIDEO_FPS = 25
SIZE = 112


def example_media(folder: Path, sample_rate: int) -> dict[str, Path]:
    """{"video": scene.mp4, "image": scene.png, "audio": scene.wav}: one 10 s synthetic scene (seed 1) as
    H.264 video (its shapes flash at each sound), a still and its sound at `sample_rate`; written once."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"video": folder / "scene.mp4", "image": folder / "scene.png", "audio": folder / f"scene_{sample_rate}.wav"}
    if all(path.is_file() for path in paths.values()):
        return paths
    item = render_item(SynthConfig(seed=1, length=1, sample_rate=sample_rate, channels=1, music_prob=0.0,
                                   video_fps=VIDEO_FPS, video_height=SIZE, video_width=SIZE), 0)
    _write_mp4(paths["video"], item["video"], VIDEO_FPS)
    _write_png(paths["image"], item["image"])
    write_audio(paths["audio"], item["audio"], sample_rate)
    return paths


def _write_mp4(path: Path, frames: torch.Tensor, fps: int) -> Path:
    """frames: (F, 3, H, W) uint8 -> H.264 (else MPEG-4 part 2) .mp4 that browsers play, atomically."""
    codec = next(c for c in ("libx264", "h264", "mpeg4") if c in av.codecs_available)
    with atomic_output(path) as tmp, av.open(str(tmp), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(fps))
        stream.height, stream.width, stream.pix_fmt = frames.shape[2], frames.shape[3], "yuv420p"
        for rgb in frames.permute(0, 2, 3, 1).contiguous().numpy():  # (H, W, 3) each
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def _write_png(path: Path, image: torch.Tensor) -> Path:
    """image: (3, H, W) uint8 -> RGB PNG, atomically."""
    rgb = image.permute(1, 2, 0).contiguous().numpy()  # (H, W, 3)
    with atomic_output(path) as tmp, av.open(str(tmp), "w", format="image2") as out:
        stream = out.add_stream("png")
        stream.height, stream.width, stream.pix_fmt = rgb.shape[0], rgb.shape[1], "rgb24"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))
    return path
