"""`audiox eval --metrics desync` end to end on tiny generated media with a tiny random Synchformer
checkpoint (real architecture, published key names, the published 14-segment window), its cache, the
video lookup by name, and its one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from audiox.cli.main import main
from audiox.evaluation.avsync import SyncClassifier
from audiox.evaluation.embedders import synchformer as sync_embedder
from tests.evaluation.desync_helpers import TINY
from tests.media.factory import encode_video

RATE = 16000
FPS = 25


def _clip(seed: int, seconds: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Moving bars (48 x 32 frames: exercises the centre crop) and noise bursts at the bar changes."""
    rng = np.random.default_rng(seed)
    count = round(seconds * FPS)
    frames = []
    for k in range(count):
        frame = np.zeros((32, 48, 3), np.uint8)
        frame[:, (k * 3 + seed) % 40 : (k * 3 + seed) % 40 + 8] = (200, 80 + seed * 10, 40)
        frames.append(frame)
    audio = 0.02 * rng.standard_normal(round(seconds * RATE))
    for start in range(0, len(audio), RATE // 2):
        audio[start : start + 800] += 0.5 * rng.standard_normal(len(audio[start : start + 800]))
    return frames, audio.astype(np.float32)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """gen/a.wav + gen/a.mp4 (muxed), gen/b.mp4 only (its audio track is the clip), videos/ as .mkv."""
    root = tmp_path_factory.mktemp("desync")
    (root / "gen").mkdir()
    (root / "videos").mkdir()
    for name, seed in (("a", 1), ("b", 2)):
        frames, audio = _clip(seed, 5.6)
        encode_video(
            root / "gen" / f"{name}.mp4",
            frames,
            FPS,
            codec="mpeg4",
            pix_fmt="yuv420p",
            audio=(audio[None], RATE),
        )
        encode_video(root / "videos" / f"{name}.mkv", frames, FPS)
        if name == "a":
            sf.write(root / "gen" / "a.wav", audio, RATE)
    (root / "wav_only").mkdir()
    for name in ("a", "b"):
        sf.write(root / "wav_only" / f"{name}.wav", _clip(3, 5.6)[1], RATE)
    torch.manual_seed(0)
    model = SyncClassifier(TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    torch.save(model.state_dict(), root / "synchformer_state_dict.pth")
    return root


@pytest.fixture(autouse=True)
def _tiny_size(monkeypatch):
    monkeypatch.setattr(sync_embedder, "MODEL_SIZE", TINY)


def _eval(*args, capsys):
    code = main(["eval", "--quiet", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _desync(media, gen, *extra, capsys, json_path, cache):
    return _eval(
        "--gen",
        gen,
        "--metrics",
        "desync",
        "--embedder",
        f"synchformer={media / 'synchformer_state_dict.pth'}",
        "--json",
        json_path,
        "--cache-dir",
        cache,
        *extra,
        capsys=capsys,
    )


def test_desync_from_generated_mp4s_and_cache(media, tmp_path, capsys):
    args = {"capsys": capsys, "json_path": tmp_path / "r.json", "cache": tmp_path / "cache"}
    code, text, err = _desync(media, media / "gen", **args)
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    row = report["metrics"]["desync"]
    assert row["embedder"] == "synchformer" and row["count"] == "2 clips x 2 windows of 4.8 s"
    # mean of 4 offsets on the 0.2 s grid: a multiple of 0.05 s in [0, 2]
    assert 0.0 <= row["value"] <= 2.0 and abs(row["value"] / 0.05 - round(row["value"] / 0.05)) < 1e-9
    assert 0.0 <= row["in_sync_fraction"] <= 1.0
    info = report["embedders"]["synchformer"]
    assert (
        info["settings"] == "200f"
        and len(info["sha256"]) == 64
        and report["settings"]["desync_seconds"] == 8.0
    )
    assert "DeSync (s)" in text
    assert (report["counts"]["cache_hits"], report["counts"]["cache_misses"]) == (0, 4)  # 2 audio + 2 video
    assert _desync(media, media / "gen", **args)[0] == 0
    again = json.loads((tmp_path / "r.json").read_text())
    assert (again["counts"]["cache_hits"], again["counts"]["cache_misses"]) == (4, 0)
    assert again["metrics"] == report["metrics"]


def test_video_folder_matches_by_name_and_agrees(media, tmp_path, capsys):
    """Audio-only --gen with the videos (.mkv) found by name in --video; --desync-seconds 4.8 scores one
    window per clip (counted twice) and keys the cache by the clip length."""
    args = {"capsys": capsys, "cache": tmp_path / "cache"}
    code, _, err = _desync(
        media, media / "wav_only", "--video", media / "videos", json_path=tmp_path / "v.json", **args
    )
    assert code == 0, err
    row = json.loads((tmp_path / "v.json").read_text())["metrics"]["desync"]
    assert row["count"] == "2 clips x 2 windows of 4.8 s"
    code, _, err = _desync(
        media,
        media / "wav_only",
        "--video",
        media / "videos",
        "--desync-seconds",
        "4.8",
        json_path=tmp_path / "s.json",
        **args,
    )
    assert code == 0, err
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["embedders"]["synchformer"]["settings"] == "120f"
    assert 0.0 <= report["metrics"]["desync"]["value"] <= 2.0


@pytest.mark.parametrize(
    ("setup", "extra", "needles"),
    [
        ("missing_video", (), ["no video for 1 clip", "c", "--video DIR"]),
        ("short", ("--video", "{videos}"), ["short.wav", "needs 14", "4.80 s"]),
        ("short_video", ("--video", "{short_videos}"), ["a.mkv", "video", "needs 14"]),
        ("ok", ("--video", "{nowhere}"), ["--video", "not a folder"]),
    ],
)
def test_desync_errors(media, tmp_path, capsys, setup, extra, needles):
    gen = tmp_path / "gen"
    gen.mkdir()
    short_videos = tmp_path / "short_videos"
    short_videos.mkdir()
    frames, audio = _clip(4, 5.6)
    if setup == "missing_video":
        sf.write(gen / "c.wav", audio, RATE)
        encode_video(gen / "a.mp4", frames, FPS, codec="mpeg4", pix_fmt="yuv420p")
        sf.write(gen / "a.wav", audio, RATE)
    elif setup == "short":
        sf.write(gen / "short.wav", audio[: 3 * RATE], RATE)
        encode_video(tmp_path / "short.mkv", frames, FPS)
    else:
        sf.write(gen / "a.wav", audio, RATE)
        encode_video(short_videos / "a.mkv", frames[:90], FPS)
    videos = tmp_path if setup == "short" else media / "videos"
    fill = {"videos": videos, "short_videos": short_videos, "nowhere": tmp_path / "nowhere"}
    code, _, err = _desync(
        media,
        gen,
        *(e.format(**fill) for e in extra),
        capsys=capsys,
        json_path=tmp_path / "r.json",
        cache=tmp_path / "cache",
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_desync_needs_the_synchformer_weights(media, tmp_path, capsys):
    code, _, err = _eval("--gen", media / "gen", "--metrics", "desync", "--no-cache", capsys=capsys)
    assert code == 2 and "--embedder synchformer=PATH" in err and len(err.strip().splitlines()) == 1
    code, _, err = _eval(
        "--gen",
        media / "gen",
        "--metrics",
        "desync",
        "--no-cache",
        "--embedder",
        f"synchformer={tmp_path / 'missing.pth'}",
        capsys=capsys,
    )
    assert code == 2 and "synchformer_state_dict.pth" in err and "MMAudio/releases" in err
