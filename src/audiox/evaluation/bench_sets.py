"""The benchmark's fixed-seed test sets: one list of cases per task, drawn from the synthetic world
(`audiox.synth`) at the model's sample rate and window, media written to files the pipeline reads.

Tasks (`TASKS`): t2a (scene caption), t2m (music caption), v2a (scene video, no text), v2m (music video),
tv2a (caption + video), i2a (still image), inpaint (a rendered scene with a gap around one event to
regenerate; caption given), continuation (a music clip's first 30 % as the prompt; caption given; the
rest is generated). Scene captions use the informative styles (counts / numbers / order / timestamps), music
captions the sentence style (genre, instrument, key, BPM).

Case i of a task is a pure function of (seed, task, i, sample_rate, channels, duration_s, video sizes):
its generator is `np.random.default_rng([seed, TASKS.index(task), i])`, so a task's cases do not depend
on which other tasks run, and a larger `num` only appends cases. Videos are lossless FFV1 in .mkv, stills
PNG (PyAV), so the pipeline decodes exactly the rendered frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from audiox.errors import InputError
from audiox.pipeline.request import GenerationRequest
from audiox.synth.captions import compose_caption
from audiox.synth.labels import Labels, MusicLabels, SceneLabels
from audiox.synth.music import render_music, sample_music
from audiox.synth.scenes import render_scene, sample_scene
from audiox.synth.video import render_still, render_video

TASKS: tuple[str, ...] = ("t2a", "t2m", "v2a", "v2m", "tv2a", "i2a", "inpaint", "continuation")
MUSIC_TASKS = frozenset({"t2m", "v2m", "continuation"})
VIDEO_TASKS = frozenset({"v2a", "v2m", "tv2a"})
TEXT_TASKS = frozenset({"t2a", "t2m", "tv2a", "inpaint", "continuation"})
SCENE_CAPTION_STYLES = ("counts", "numbers", "order", "timestamps")
CONTINUATION_PROMPT_FRACTION = 0.3  # a 3 s prompt, 7 s to continue: the analyser needs ~7 s for the key


@dataclass(frozen=True, kw_only=True, slots=True)
class BenchSpec:
    """What to build: tasks, cases per task, the set's seed, sampling steps and the media sizes.
    duration_s None = the model's window (at most 10 s)."""

    tasks: tuple[str, ...] = TASKS
    num_per_task: int = 8
    seed: int = 0
    steps: int | None = None
    cfg_scale: float | None = None
    negative_text: str | None = None
    duration_s: float | None = None
    channels: int = 2
    video_fps: float = 25.0
    video_size: int = 112

    def __post_init__(self) -> None:
        unknown = [t for t in self.tasks if t not in TASKS]
        if unknown or not self.tasks:
            raise InputError(f"unknown or no bench tasks {unknown}; choose from {','.join(TASKS)}")
        if self.num_per_task < 1 or self.seed < 0 or self.video_size < 8 or self.video_fps <= 0:
            raise InputError(
                f"{self.num_per_task=} must be >= 1, {self.seed=} >= 0, {self.video_size=} >= 8, "
                f"{self.video_fps=} > 0"
            )
        if self.duration_s is not None and self.duration_s < 2.0:
            raise InputError(f"bench duration {self.duration_s} s is too short for a scene; use >= 2 s")


@dataclass(frozen=True, kw_only=True)
class BenchCase:
    """One test item. reference: (C, S) what a perfect generator returns for `request` (for continuation the
    clip after the prompt, else the whole clip); video: (F, 3, H, W) uint8 frames the video file holds;
    prompt: (C, P) the continuation prompt; boundaries_s: times in the joined output (prompt + output for
    continuation) where kept and generated audio meet."""

    task: str
    index: int
    request: GenerationRequest
    labels: Labels
    sample_rate: int
    reference: torch.Tensor
    video: torch.Tensor | None = None
    video_fps: float = 0.0
    prompt: torch.Tensor | None = None
    boundaries_s: tuple[float, ...] = ()


def write_video(path: Path, frames: torch.Tensor, fps: float) -> Path:
    """frames: (F, 3, H, W) uint8 -> lossless FFV1 .mkv at `fps`."""
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=rate)
        stream.height, stream.width, stream.pix_fmt = frames.shape[2], frames.shape[3], "bgr0"
        for i, rgb in enumerate(frames.permute(0, 2, 3, 1).contiguous().numpy()):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="bgr0")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def write_image(path: Path, image: torch.Tensor) -> Path:
    """image: (3, H, W) uint8 -> PNG."""
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.height, stream.width, stream.pix_fmt = image.shape[1], image.shape[2], "rgb24"
        frame = av.VideoFrame.from_ndarray(image.permute(1, 2, 0).contiguous().numpy(), format="rgb24")
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


# A nonzero last word of every case's seed. numpy's SeedSequence drops trailing zero words, so without it
# case 0 of task k ([seed, k, 0]) drew exactly what item k of the synth world with the same seed ([seed, k])
# draws: a benchmark case the shipped model had been trained on.
BENCH_STREAM = 0x62656E63  # "benc"


def case_generator(spec: BenchSpec, task: str, index: int) -> np.random.Generator:
    """The generator of one case: a stream of its own, never one of the synth world's item streams."""
    return np.random.default_rng([spec.seed, TASKS.index(task), index, BENCH_STREAM])


def _draw(task: str, rng: np.random.Generator, duration_s: float) -> tuple[Labels, str]:
    """(labels, caption) of one case."""
    caption_rng = np.random.default_rng(rng.integers(2**63 - 1))
    if task in MUSIC_TASKS:
        labels = sample_music(rng, duration_s=duration_s)
        return labels, compose_caption(labels, caption_rng, style="sentence")
    labels = sample_scene(rng, duration_s=duration_s)
    style = SCENE_CAPTION_STYLES[int(caption_rng.integers(len(SCENE_CAPTION_STYLES)))]
    return labels, compose_caption(labels, caption_rng, style=style)


def inpaint_gap(labels: SceneLabels, rng: np.random.Generator) -> tuple[float, float]:
    """(start_s, end_s) covering one event plus a margin, inside [5 %, 95 %] of the clip (rounded to ms)."""
    duration = labels.duration_s
    if not labels.events:
        return round(0.4 * duration, 3), round(0.6 * duration, 3)
    event = labels.events[int(rng.integers(len(labels.events)))]
    start = max(0.05 * duration, event.onset_s - float(rng.uniform(0.1, 0.4)))
    end = min(0.95 * duration, max(event.offset_s, event.onset_s + 0.2) + float(rng.uniform(0.1, 0.4)))
    return round(start, 3), round(max(end, start + 0.2), 3)


def _render(labels: Labels, sample_rate: int, channels: int) -> torch.Tensor:
    if isinstance(labels, MusicLabels):
        return torch.from_numpy(render_music(labels, sample_rate=sample_rate, channels=channels))
    return torch.from_numpy(render_scene(labels, sample_rate=sample_rate, channels=channels))


def build_case(
    spec: BenchSpec, task: str, index: int, *, sample_rate: int, duration_s: float, workdir: Path
) -> BenchCase:
    """Case `index` of `task`; media files go to `workdir` (named <task>_<index>.mkv/.png)."""
    rng = case_generator(spec, task, index)
    labels, caption = _draw(task, rng, duration_s)
    audio = _render(labels, sample_rate, spec.channels)  # (C, S)
    fields = {
        "text": caption if task in TEXT_TASKS else None,
        "task": "music" if task in MUSIC_TASKS else "audio",
        "duration_s": duration_s,
        "steps": spec.steps,
        "cfg_scale": spec.cfg_scale,
        "negative_text": spec.negative_text,
        "seed": int(rng.integers(2**31 - 1)),
    }
    extra: dict = {}
    size = spec.video_size
    if task in VIDEO_TASKS:
        frames = render_video(labels, fps=spec.video_fps, height=size, width=size)
        fields["video"] = write_video(workdir / f"{task}_{index}.mkv", frames, spec.video_fps)
        extra = {"video": frames, "video_fps": spec.video_fps}
    elif task == "i2a":
        fields["image"] = write_image(
            workdir / f"{task}_{index}.png", render_still(labels, height=size, width=size)
        )
    elif task == "inpaint":
        gap = inpaint_gap(labels, rng)
        fields.update(audio=audio, audio_sample_rate=sample_rate, inpaint=gap)
        extra = {"boundaries_s": gap}
    elif task == "continuation":
        split = round(CONTINUATION_PROMPT_FRACTION * audio.shape[-1])
        prompt, audio = audio[:, :split], audio[:, split:]
        fields.update(audio=prompt, audio_sample_rate=sample_rate, duration_s=audio.shape[-1] / sample_rate,
                      new_only=True)  # scored on the new audio; the seams put the prompt back before it
        extra = {"prompt": prompt, "boundaries_s": (split / sample_rate,)}
    request = GenerationRequest(**fields)
    return BenchCase(
        task=task,
        index=index,
        request=request,
        labels=labels,
        sample_rate=sample_rate,
        reference=audio,
        **extra,
    )


def build_bench_set(
    spec: BenchSpec, *, sample_rate: int, duration_s: float, workdir: str | Path
) -> dict[str, list[BenchCase]]:
    """{task: [case 0 .. num_per_task - 1]} for the spec's tasks, media written under `workdir`."""
    if sample_rate <= 0 or duration_s < 2.0:
        raise InputError(f"{sample_rate=} must be > 0 and {duration_s=} >= 2 s for a bench set")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    return {
        task: [
            build_case(spec, task, i, sample_rate=sample_rate, duration_s=duration_s, workdir=workdir)
            for i in range(spec.num_per_task)
        ]
        for task in spec.tasks
    }
