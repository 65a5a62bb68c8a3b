"""Videos and still images for the synthetic world: uint8 frames (F, 3, H, W), frame i shows time i / fps.

Scene videos: each event kind has its own shape and colour (`KIND_STYLES`; kinds outside the table get
a shape/colour from a hash of the name). A kind's shape sits in the slot of its first appearance
(2 x 2 grid) and lights up at frame round(onset_s * fps), fading over the event, gone after the
offset. Music videos: a glyph in the middle (shape per instrument, hue per key, darker for minor)
whose size and brightness jump on every beat (downbeats more) and decay in between. Stills: every
kind's shape at full brightness (scenes) or the resting glyph (music).
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

from audiox.synth.labels import PITCH_CLASSES, Labels, MusicLabels, SceneLabels

SHAPES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "diamond",
    "ring",
    "cross",
    "star",
    "hbar",
    "vbar",
    "hexagon",
)
KIND_STYLES: dict[str, tuple[str, tuple[int, int, int]]] = {
    "tone": ("circle", (66, 135, 245)),
    "chirp": ("triangle", (255, 210, 40)),
    "knock": ("square", (150, 90, 40)),
    "clap": ("star", (255, 255, 255)),
    "bell": ("ring", (240, 190, 60)),
    "whistle": ("vbar", (120, 230, 255)),
    "engine": ("hbar", (220, 60, 40)),
    "rain": ("cross", (70, 110, 255)),
    "drum": ("hexagon", (200, 40, 200)),
    "buzzer": ("diamond", (60, 220, 90)),
}
INSTRUMENT_SHAPES: dict[str, str] = {
    "piano": "square",
    "organ": "hexagon",
    "guitar": "star",
    "flute": "vbar",
    "strings": "diamond",
    "synth": "circle",
}
BACKGROUND_COLOURS: dict[str, tuple[int, int, int]] = {
    "none": (12, 12, 16),
    "hum": (28, 20, 12),
    "noise": (22, 22, 22),
    "room": (14, 22, 14),
}
SLOTS: tuple[tuple[float, float], ...] = ((0.28, 0.28), (0.28, 0.72), (0.72, 0.28), (0.72, 0.72))


def kind_style(kind: str) -> tuple[str, tuple[int, int, int]]:
    """(shape, rgb) of an event kind; unknown kinds get a stable hashed style."""
    if kind in KIND_STYLES:
        return KIND_STYLES[kind]
    code = zlib.crc32(kind.encode())
    return SHAPES[code % len(SHAPES)], (64 + code % 192, 64 + (code >> 8) % 192, 64 + (code >> 16) % 192)


def shape_mask(shape: str, height: int, width: int, center: tuple[float, float], radius: float) -> np.ndarray:
    """Soft-edged mask in [0, 1] of one shape: (H, W). center = (row, col) as fractions; radius in pixels."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    y, x = (rows - center[0] * (height - 1)) / radius, (cols - center[1] * (width - 1)) / radius
    r, theta = np.hypot(x, y), np.arctan2(y, x)
    inside = {
        "circle": lambda: 1 - r,
        "square": lambda: 0.8 - np.maximum(abs(x), abs(y)),
        "diamond": lambda: 1 - (abs(x) + abs(y)),
        "ring": lambda: 0.25 - abs(r - 0.75),
        "triangle": lambda: np.minimum(0.6 - y, 0.6 * (y + 0.9) - abs(x)),
        "cross": lambda: np.maximum(
            np.minimum(0.25 - abs(x), 1 - abs(y)), np.minimum(0.25 - abs(y), 1 - abs(x))
        ),
        "star": lambda: 0.6 + 0.35 * np.cos(5 * theta) - r,
        "hbar": lambda: np.minimum(1 - abs(x), 0.3 - abs(y)),
        "vbar": lambda: np.minimum(0.3 - abs(x), 1 - abs(y)),
        "hexagon": lambda: 0.9 - np.maximum(abs(y), 0.5 * abs(y) + 0.866 * abs(x)),
    }[shape]()
    return np.clip(inside * radius / 1.5 + 0.5, 0.0, 1.0)


def _compose(
    background: np.ndarray, alphas: np.ndarray, masks: np.ndarray, colours: np.ndarray
) -> torch.Tensor:
    """background (3,), alphas (F, N), masks (N, H, W), colours (N, 3) -> uint8 (F, 3, H, W).

    Layers are painted in order over the background: pixel += alpha * mask * (colour - pixel).
    """
    frames = np.empty((alphas.shape[0], 3, *masks.shape[1:]), dtype=np.uint8)
    masks = masks.astype(np.float32)
    for f in range(alphas.shape[0]):
        frame = np.broadcast_to(background.astype(np.float32)[:, None, None], frames.shape[1:]).copy()
        for n in np.flatnonzero(alphas[f]):
            frame += (alphas[f, n] * masks[n])[None] * (colours[n].astype(np.float32)[:, None, None] - frame)
        frames[f] = np.clip(np.rint(frame), 0, 255)
    return torch.from_numpy(frames)


def _scene_layers(labels: SceneLabels, height: int, width: int, radius_scale: float):
    kinds = labels.kinds
    radius = radius_scale * min(height, width)
    masks = np.stack(
        [shape_mask(kind_style(k)[0], height, width, SLOTS[i % 4], radius) for i, k in enumerate(kinds)]
    )
    colours = np.array([kind_style(k)[1] for k in kinds], dtype=np.float64)
    return kinds, masks.reshape(len(kinds), height, width), colours


def render_scene_video(
    labels: SceneLabels, *, fps: float = 25.0, height: int = 224, width: int = 224
) -> torch.Tensor:
    """Frames of a scene: uint8 (F, 3, H, W), F = round(duration_s * fps)."""
    num_frames = round(labels.duration_s * fps)
    background = np.array(BACKGROUND_COLOURS.get(labels.background, (12, 12, 16)), dtype=np.float64)
    if not labels.events:
        return _compose(background, np.zeros((num_frames, 0)), np.zeros((0, height, width)), np.zeros((0, 3)))
    kinds, masks, colours = _scene_layers(labels, height, width, 0.17)
    alphas = np.zeros((num_frames, len(kinds)))
    for e in labels.events:
        first = round(e.onset_s * fps)
        last = max(first + 1, round(e.offset_s * fps))
        fade = np.linspace(1.0, 0.4, max(1, last - first))[: max(0, min(last, num_frames) - first)]
        column = kinds.index(e.kind)
        alphas[first : first + fade.size, column] = np.maximum(
            alphas[first : first + fade.size, column], fade
        )
    return _compose(background, alphas, masks, colours)


def _music_look(labels: MusicLabels) -> tuple[np.ndarray, np.ndarray]:
    hue = PITCH_CLASSES.index(labels.key) / 12.0
    angle = 2 * np.pi * (hue + np.array([0.0, 1 / 3, 2 / 3]))
    colour = 150 + 100 * np.cos(angle)
    if labels.mode == "minor":
        colour = colour * 0.7
    return colour * 0.15, colour


def render_music_video(
    labels: MusicLabels, *, fps: float = 25.0, height: int = 224, width: int = 224
) -> torch.Tensor:
    """Frames of a music clip: uint8 (F, 3, H, W); the glyph pulses on every beat."""
    num_frames = round(labels.duration_s * fps)
    background, colour = _music_look(labels)
    times = np.arange(num_frames) / fps
    beats = labels.beat_times_s
    pulse = np.zeros(num_frames)
    for i, beat in enumerate(beats):
        frame = round(beat * fps)
        if frame >= num_frames:  # a beat in the last half frame
            break
        decay = np.exp(-(times[frame:] - times[frame]) / 0.12) * (1.0 if i % 4 == 0 else 0.6)
        pulse[frame:] = np.maximum(pulse[frame:], decay)
    levels = np.round(pulse * 8) / 8  # 9 glyph sizes, so masks are computed once per size
    shape = INSTRUMENT_SHAPES.get(labels.instrument, "circle")
    masks = {
        lv: shape_mask(shape, height, width, (0.5, 0.5), (0.2 + 0.15 * lv) * min(height, width))
        for lv in np.unique(levels)
    }
    frames = np.empty((num_frames, 3, height, width), dtype=np.uint8)
    for f, lv in enumerate(levels):
        alpha = (0.45 + 0.55 * lv) * masks[lv]
        frames[f] = np.clip(
            np.rint(background[:, None, None] + alpha * (colour - background)[:, None, None]), 0, 255
        )
    return torch.from_numpy(frames)


def render_video(labels: Labels, *, fps: float = 25.0, height: int = 224, width: int = 224) -> torch.Tensor:
    """Scene or music video: uint8 (F, 3, H, W)."""
    if isinstance(labels, MusicLabels):
        return render_music_video(labels, fps=fps, height=height, width=width)
    return render_scene_video(labels, fps=fps, height=height, width=width)


def render_still(labels: Labels, *, height: int = 224, width: int = 224) -> torch.Tensor:
    """A still image: uint8 (3, H, W) with every kind's shape lit (scene) or the resting glyph (music)."""
    if isinstance(labels, MusicLabels):
        background, colour = _music_look(labels)
        mask = shape_mask(
            INSTRUMENT_SHAPES.get(labels.instrument, "circle"),
            height,
            width,
            (0.5, 0.5),
            0.2 * min(height, width),
        )
        return _compose(background, np.ones((1, 1)), mask[None], colour[None])[0]
    background = np.array(BACKGROUND_COLOURS.get(labels.background, (12, 12, 16)), dtype=np.float64)
    if not labels.events:
        return _compose(background, np.zeros((1, 0)), np.zeros((0, height, width)), np.zeros((0, 3)))[0]
    kinds, masks, colours = _scene_layers(labels, height, width, 0.17)
    return _compose(background, np.ones((1, len(kinds))), masks, colours)[0]
