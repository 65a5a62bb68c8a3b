"""`audiox generate` for every task, in process: media files in, audio (and video) files out."""

from __future__ import annotations

import pytest
import soundfile as sf

from audiox.cli.main import main

TASKS = {
    "text-to-audio": lambda m: ["two knocks then a bell"],
    "text-to-music": lambda m: ["calm piano", "--task", "music"],
    "video-to-audio": lambda m: ["--video", str(m["video"])],
    "video-to-music": lambda m: ["--video", str(m["video"]), "--task", "music"],
    "text+video-to-audio": lambda m: ["engine", "--video", str(m["video"])],
    "image-to-audio": lambda m: ["--image", str(m["image"])],
    "inpainting": lambda m: ["--audio", str(m["audio"]), "--inpaint", "1.0", "2.0"],
    "continuation": lambda m: ["piano", "--audio", str(m["audio"]), "--task", "music"],
}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_writes_a_wav(tiny_model_dir, media, tmp_path, task):
    out = tmp_path / "out.wav"
    code = main(["generate", *TASKS[task](media), "--model", str(tiny_model_dir), "--duration", "3", "--steps", "1",
                 "-o", str(out), "--quiet"])
    assert code == 0
    info = sf.info(out)
    seconds = 6 + 3 if task == "continuation" else 3  # a continuation writes the 6 s prompt, then 3 s of new audio
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (2048, 2, seconds * 2048, "PCM_16")
    if "video" in task:
        assert (tmp_path / "out.mp4").stat().st_size > 0
