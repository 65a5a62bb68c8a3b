"""The bad-input corpus: every input a user can type that must fail does so with ONE clear stderr line and the
documented exit code, no traceback, nothing on stdout, and no output or temporary file left behind.

One table (and one parametrised test) per class of input: numbers, names and devices, combinations of
options, prompt text, media files, output paths, model folders. Cases run in process (`audiox.cli.main`),
in a fresh working folder, with the tiny model folder.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiox.cli.main import main
from tests.media.factory import tone, write_sound

FAST = ["--steps", "1", "--quiet"]


@dataclass
class Env:
    """Paths a case may use: the tiny model, media inputs, and the case's own folder (the working folder)."""

    model: Path
    audio: Path
    video: Path
    image: Path
    root: Path

    def file(self, name: str, data: bytes | str = b"") -> Path:
        path = self.root / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def sound(self, name: str, audio: np.ndarray, rate: int = 2048, subtype: str | None = None) -> Path:
        (self.root / "in").mkdir(exist_ok=True)
        return write_sound(self.root / "in" / name, audio, rate, subtype=subtype)

    def model_copy(self, edit=None) -> Path:
        """A copy of the tiny model folder, optionally edited by `edit(folder)`."""
        folder = self.root / "in" / "model"
        shutil.copytree(self.model, folder)
        if edit is not None:
            edit(folder)
        return folder


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run_case(env: Env, build, capsys, monkeypatch) -> tuple[int, str, str]:
    """Build the case's arguments (which may create input files), run the CLI in `env.root`, and check that
    no file under the working folder appeared, vanished or changed."""
    args = build(env)
    monkeypatch.chdir(env.root)
    before = _files(env.root)
    capsys.readouterr()
    try:
        code = main(["generate", *args])
    except SystemExit as e:  # argparse usage errors
        code = e.code
    out, err = capsys.readouterr()
    assert _files(env.root) == before, "an output or temporary file was left (or an input changed)"
    return code, out, err


def check(env, build, code, text, capsys, monkeypatch) -> None:
    got, out, err = run_case(env, build, capsys, monkeypatch)
    lines = [line for line in err.splitlines() if line.strip()]
    assert got == code, (got, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err and text.lower() in lines[0].lower(), (text, lines[0])
    assert out.strip() == "", out


@pytest.fixture
def env(tiny_model_dir, media, tmp_path) -> Env:
    root = tmp_path / "work"
    root.mkdir()
    return Env(tiny_model_dir, media["audio"], media["video"], media["image"], root)


def text(env: Env, *more: str) -> list[str]:
    return ["a bell", "--model", str(env.model), *FAST, *more]


def with_audio(env: Env, *more: str) -> list[str]:
    return ["--audio", str(env.audio), "--model", str(env.model), *FAST, *more]


# ------------------------------------------------------------------------------------------------ numbers

NUMBERS = {
    "duration zero": (lambda e: text(e, "--duration", "0"), 2, "duration must be a number from 0.01 to 600"),
    "duration negative": (lambda e: text(e, "--duration", "-1"), 2, "duration must be"),
    "duration nan": (lambda e: text(e, "--duration", "nan"), 2, "duration must be"),
    "duration inf": (lambda e: text(e, "--duration", "inf"), 2, "duration must be"),
    "duration -inf": (lambda e: text(e, "--duration=-inf"), 2, "duration must be"),
    "duration overflow": (lambda e: text(e, "--duration", "1e400"), 2, "duration must be"),
    "duration huge": (lambda e: text(e, "--duration", "1e9"), 2, "to 600"),
    "duration over limit": (lambda e: text(e, "--duration", "600.5"), 2, "to 600"),
    "duration tiny": (lambda e: text(e, "--duration", "0.001"), 2, "from 0.01"),
    "duration word": (lambda e: text(e, "--duration", "ten"), 2, "invalid float value: 'ten'"),
    "duration empty": (lambda e: text(e, "--duration", ""), 2, "invalid float value"),
    "seconds-start negative": (lambda e: text(e, "--seconds-start=-1"), 2, "seconds_start must be"),
    "seconds-start nan": (lambda e: text(e, "--seconds-start", "nan"), 2, "seconds_start must be"),
    "seconds-start inf": (lambda e: text(e, "--seconds-start", "inf"), 2, "seconds_start must be"),
    "seconds-start huge": (lambda e: text(e, "--seconds-start", "1e12"), 2, "seconds_start must be"),
    "steps zero": (lambda e: text(e, "--steps", "0"), 2, "steps must be an integer from 1 to 10000"),
    "steps negative": (lambda e: text(e, "--steps=-5"), 2, "steps must be"),
    "steps huge": (lambda e: text(e, "--steps", "10001"), 2, "steps must be"),
    "steps fraction": (lambda e: text(e, "--steps", "1.5"), 2, "invalid int value: '1.5'"),
    "steps nan": (lambda e: text(e, "--steps", "nan"), 2, "invalid int value"),
    "cfg negative": (lambda e: text(e, "--cfg-scale=-1"), 2, "cfg_scale must be a number from 0 to 100"),
    "cfg nan": (lambda e: text(e, "--cfg-scale", "nan"), 2, "cfg_scale must be"),
    "cfg inf": (lambda e: text(e, "--cfg-scale", "inf"), 2, "cfg_scale must be"),
    "cfg huge": (lambda e: text(e, "--cfg-scale", "1000"), 2, "cfg_scale must be"),
    "cfg word": (lambda e: text(e, "--cfg-scale", "high"), 2, "invalid float value"),
    "sigma-min zero": (lambda e: text(e, "--sigma-min", "0"), 2, "sigma_min must be a number above 0"),
    "sigma-min negative": (lambda e: text(e, "--sigma-min=-1"), 2, "sigma_min must be"),
    "sigma-min nan": (lambda e: text(e, "--sigma-min", "nan"), 2, "sigma_min must be"),
    "sigma-max inf": (lambda e: text(e, "--sigma-max", "inf"), 2, "sigma_max must be"),
    "sigma-max huge": (lambda e: text(e, "--sigma-max", "20000"), 2, "sigma_max must be"),
    "sigma-max zero": (lambda e: text(e, "--sigma-max", "0"), 2, "sigma_max must be"),
    "sigmas reversed": (lambda e: text(e, "--sigma-min", "5", "--sigma-max", "1"), 2, "below sigma_max"),
    "sigmas equal": (lambda e: text(e, "--sigma-min", "2", "--sigma-max", "2"), 2, "below sigma_max"),
    "sigma-min above the model's max": (lambda e: text(e, "--sigma-min", "600"), 2, "below sigma_max"),
    "batch-size zero": (lambda e: text(e, "--batch-size", "0"), 2, "batch_size must be an integer from 1 to 64"),
    "batch-size negative": (lambda e: text(e, "--batch-size=-2"), 2, "batch_size must be"),
    "batch-size huge": (lambda e: text(e, "--batch-size", "100000"), 2, "batch_size must be"),
    "batch-size fraction": (lambda e: text(e, "--batch-size", "2.5"), 2, "invalid int value"),
    "seed negative": (lambda e: text(e, "--seed=-1"), 2, "seed must be an integer from 0 to 2**64 - 1"),
    "seed too big": (lambda e: text(e, "--seed", str(2**64)), 2, "seed must be"),
    "seed fraction": (lambda e: text(e, "--seed", "1.5"), 2, "seed must be"),
    "seed word": (lambda e: text(e, "--seed", "lucky"), 2, "seed must be"),
    "init-strength zero": (lambda e: text(e, "--init-audio", str(e.audio), "--init-strength", "0"), 2,
                           "init_strength must be a number above 0 to 1"),
    "init-strength negative": (lambda e: text(e, "--init-audio", str(e.audio), "--init-strength=-0.5"), 2,
                               "init_strength must be"),
    "init-strength above one": (lambda e: text(e, "--init-audio", str(e.audio), "--init-strength", "1.5"), 2,
                                "init_strength must be"),
    "init-strength nan": (lambda e: text(e, "--init-audio", str(e.audio), "--init-strength", "nan"), 2,
                          "init_strength must be"),
    "inpaint nan": (lambda e: with_audio(e, "--inpaint", "nan", "2"), 2, "inpaint start must be"),
    "inpaint end inf": (lambda e: with_audio(e, "--inpaint", "1", "inf"), 2, "inpaint end must be"),
    "inpaint reversed": (lambda e: with_audio(e, "--inpaint", "3", "1"), 2, "0 <= start < end"),
    "inpaint empty range": (lambda e: with_audio(e, "--inpaint", "2", "2"), 2, "0 <= start < end"),
    "inpaint negative": (lambda e: with_audio(e, "--inpaint", "-1", "2"), 2, "inpaint start must be"),
    "inpaint one value": (lambda e: with_audio(e, "--inpaint", "1"), 2, "expected 2 arguments"),
    "loudness positive": (lambda e: text(e, "--loudness", "3"), 2, "loudness target must be"),
    "loudness too quiet": (lambda e: text(e, "--loudness=-80"), 2, "loudness target must be"),
    "loudness nan": (lambda e: text(e, "--loudness", "nan"), 2, "loudness target must be"),
    "loudness word": (lambda e: text(e, "--loudness", "loud"), 2, "invalid float value"),
    "loudness on too short a clip": (lambda e: text(e, "--loudness=-14", "--duration", "0.2"), 2, "at least 0.4 s"),
}


@pytest.mark.parametrize("case", sorted(NUMBERS))
def test_bad_numbers(env, capsys, monkeypatch, case):
    check(env, *NUMBERS[case], capsys, monkeypatch)


# ---------------------------------------------------------------------------------------- names and devices

NAMES = {
    "task": (lambda e: text(e, "--task", "speech"), 2, "invalid choice: 'speech'"),
    "sampler unknown": (lambda e: text(e, "--sampler", "bogus"), 2, "unknown sampler 'bogus'"),
    "flow sampler on a v model": (lambda e: text(e, "--sampler", "rf-euler"), 2, "for rectified-flow models"),
    "device tpu": (lambda e: text(e, "--device", "tpu"), 2, "this machine has: cpu"),
    "device nonsense": (lambda e: text(e, "--device", "fast"), 2, "unknown device 'fast'"),
    "device empty": (lambda e: text(e, "--device", ""), 2, "this machine has: cpu"),
    "device missing gpu index": (lambda e: text(e, "--device", "cuda:7"), 2, "this machine has"),
    "unknown option": (lambda e: text(e, "--colour", "blue"), 2, "unrecognized arguments: --colour"),
}


@pytest.mark.parametrize("case", sorted(NAMES))
def test_bad_names_and_devices(env, capsys, monkeypatch, case):
    check(env, *NAMES[case], capsys, monkeypatch)


def test_a_missing_gpu_is_named(env, capsys, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU; the case is for machines without one")
    check(env, lambda e: text(e, "--device", "cuda"), 2, "device 'cuda' is not available here", capsys, monkeypatch)


# ------------------------------------------------------------------------------------- option combinations

COMBINATIONS = {
    "nothing to condition on": (lambda e: ["--model", str(e.model), *FAST], 2, "nothing to condition on"),
    "empty prompt": (lambda e: ["", "--model", str(e.model), *FAST], 2, "nothing to condition on"),
    "inpaint without audio": (lambda e: text(e, "--inpaint", "1", "2"), 2, "inpaint needs the audio"),
    "video and image": (lambda e: text(e, "--video", str(e.video), "--image", str(e.image)), 2,
                        "either a video or an image"),
    "image that is a video": (lambda e: text(e, "--image", str(e.video)), 2, "not an image file"),
    "new-only without audio": (lambda e: text(e, "--new-only"), 2, "new_only is for continuation"),
    "new-only with inpaint": (lambda e: with_audio(e, "--inpaint", "1", "2", "--new-only"), 2,
                              "new_only is for continuation"),
    "init-strength without init audio": (lambda e: text(e, "--init-strength", "0.5"), 2,
                                         "init_strength needs an init audio"),
    "init audio with inpaint": (lambda e: with_audio(e, "--inpaint", "1", "2", "--init-audio", str(e.audio)), 2,
                                "inpainting already starts from its audio"),
    "-o with --batch": (lambda e: text(e, "--batch", str(e.file("p.txt", "rain\n")), "-o", "x.wav"), 2,
                        "with --batch use --out-dir"),
    "raw and loudness": (lambda e: text(e, "--raw", "--loudness=-14"), 2, "not allowed with argument"),
    "inpaint before seconds-start": (lambda e: with_audio(e, "--seconds-start", "2", "--inpaint", "1", "3"), 2,
                                     "starts before seconds_start"),
    "inpaint wider than a window": (lambda e: ["--audio", str(e.sound("long.wav", tone(200, 2048, 30 * 2048))),
                                               "--inpaint", "1", "12", "--model", str(e.model), *FAST], 2,
                                    "inside one 10.00 s window"),
    "inpaint after the audio ends": (lambda e: with_audio(e, "--inpaint", "7", "8"), 2, "after the audio ends"),
    "seconds-start past the audio to inpaint": (
        lambda e: with_audio(e, "--seconds-start", "6.5", "--inpaint", "7", "8"), 2, "past the end of the audio"),
    "seconds-start past the video": (lambda e: ["--video", str(e.video), "--seconds-start", "5",
                                                "--model", str(e.model), *FAST], 2, "past the end of the video"),
    "seconds-start past the init audio": (lambda e: text(e, "--init-audio", str(e.audio), "--seconds-start", "7"), 2,
                                          "past the end of the init audio"),
    "span longer than the video": (lambda e: ["--video", str(e.video), "--duration", "8",
                                              "--model", str(e.model), *FAST], 2, "video is 4.00 s long"),
    "loudness without pyloudnorm": (lambda e: _no_pyloudnorm(e) or text(e, "--loudness=-14"), 2,
                                    "pip install 'audiox[loudness]'"),
}


def _no_pyloudnorm(env: Env) -> None:
    import sys

    env.monkeypatch.setitem(sys.modules, "pyloudnorm", None)  # an import of it now fails


@pytest.mark.parametrize("case", sorted(COMBINATIONS))
def test_bad_combinations(env, capsys, monkeypatch, case):
    env.monkeypatch = monkeypatch
    check(env, *COMBINATIONS[case], capsys, monkeypatch)


# ------------------------------------------------------------------------------------------------- text

TEXTS = {
    "blank prompt": (lambda e: ["   ", "--model", str(e.model), *FAST], 2, "text is blank"),
    "undecodable bytes": (lambda e: ["caf\udce9 music", "--model", str(e.model), *FAST], 2, "not valid UTF-8"),
    "very long prompt": (lambda e: ["rain " * 600, "--model", str(e.model), *FAST], 2, "the limit is 2000"),
    "blank negative prompt": (lambda e: text(e, "--negative", " "), 2, "negative_text is blank"),
    "undecodable negative prompt": (lambda e: text(e, "--negative", "\udcff"), 2, "negative_text is not valid UTF-8"),
    "batch list not UTF-8": (lambda e: text(e, "--batch", str(e.file("p.txt", b"rain\n\xff\xfe bad\n"))), 2,
                             "line 2 is not valid UTF-8"),
    "batch list empty": (lambda e: text(e, "--batch", str(e.file("p.txt", "# only a comment\n\n"))), 2,
                         "empty batch list"),
    "batch list missing": (lambda e: text(e, "--batch", str(e.root / "none.txt")), 2, "batch list not found"),
    "batch folder without media": (lambda e: text(e, "--batch", str(e.file("d/notes.txt", "x").parent)), 2,
                                   "no video or image files"),
    "batch whose every item fails": (lambda e: text(e, "--batch", str(e.file("p.txt", "   \nmissing.mp4\n"))), 1,
                                     "skipped: MediaError: missing.mp4: file not found"),
}


@pytest.mark.parametrize("case", sorted(TEXTS))
def test_bad_text(env, capsys, monkeypatch, case):
    check(env, *TEXTS[case], capsys, monkeypatch)


# ------------------------------------------------------------------------------------------------ media


def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk declaring width x height (no pixel data)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def _float_wav(env: Env, name: str, value: float) -> Path:
    audio = tone(220, 2048, 2048, channels=2)
    audio[0, 100] = value
    return env.sound(name, audio, subtype="FLOAT")


MEDIA = {
    "audio missing": (lambda e: ["--audio", str(e.root / "none.wav"), "--model", str(e.model), *FAST], 2,
                      "file not found"),
    "audio empty file": (lambda e: ["--audio", str(e.file("empty.wav")), "--model", str(e.model), *FAST], 2,
                         "file is empty"),
    "audio is a folder": (lambda e: ["--audio", str(e.file("d/x").parent), "--model", str(e.model), *FAST], 2,
                          "not a file"),
    "audio garbage wav": (lambda e: ["--audio", str(e.file("bad.wav", b"RIFF" + b"\x00" * 60)),
                                     "--model", str(e.model), *FAST], 2, "cannot decode audio"),
    "audio garbage mp3": (lambda e: ["--audio", str(e.file("bad.mp3", b"\x13\x37" * 500)),
                                     "--model", str(e.model), *FAST], 2, "bad.mp3"),
    "audio with NaN": (lambda e: ["--audio", str(_float_wav(e, "nan.wav", math.nan)), "--model", str(e.model),
                                  *FAST], 2, "NaN or infinite samples"),
    "audio with inf": (lambda e: ["--audio", str(_float_wav(e, "inf.wav", math.inf)), "--model", str(e.model),
                                  "--inpaint", "0.1", "0.2", *FAST], 2, "NaN or infinite samples"),
    "audio without samples": (lambda e: ["--audio", str(e.sound("zero.wav", np.zeros((1, 0), np.float32))),
                                         "--model", str(e.model), *FAST], 2, "no audio samples"),
    "audio too long": (lambda e: ["--audio", str(e.sound("long.wav", np.zeros((1, 1300 * 100), np.float32), 100)),
                                  "--model", str(e.model), *FAST], 2, "over the limit of 1200 s"),
    "video missing": (lambda e: ["--video", str(e.root / "none.mp4"), "--model", str(e.model), *FAST], 2,
                      "file not found"),
    "video garbage": (lambda e: ["--video", str(e.file("bad.mp4", b"not a video" * 40)), "--model", str(e.model),
                                 *FAST], 2, "bad.mp4"),
    "video is an audio file": (lambda e: ["--video", str(e.audio), "--model", str(e.model), *FAST], 2,
                               "has no video stream"),
    "video empty file": (lambda e: ["--video", str(e.file("empty.mp4")), "--model", str(e.model), *FAST], 2,
                         "file is empty"),
    "image missing": (lambda e: ["--image", str(e.root / "none.png"), "--model", str(e.model), *FAST], 2,
                      "file not found"),
    "image garbage": (lambda e: ["--image", str(e.file("bad.png", b"\x89PNG garbage" * 8)), "--model",
                                 str(e.model), *FAST], 2, "not a readable PNG"),
    "image text file": (lambda e: ["--image", str(e.file("notes.jpg", "hello")), "--model", str(e.model), *FAST], 2,
                        "not a readable PNG"),
    "image of a gigapixel": (lambda e: ["--image", str(e.file("huge.png", _png_header(60_000, 60_000))),
                                        "--model", str(e.model), *FAST], 2, "over the 40 megapixel limit"),
    "image as video of a gigapixel": (lambda e: ["--video", str(e.file("huge.png", _png_header(9_000, 9_000))),
                                                 "--model", str(e.model), *FAST], 2, "megapixel limit"),
    "image with zero width": (lambda e: ["--image", str(e.file("flat.png", _png_header(0, 10))),
                                         "--model", str(e.model), *FAST], 2, "0x10 pixels"),
    "init audio missing": (lambda e: text(e, "--init-audio", str(e.root / "none.wav")), 2, "file not found"),
    "init audio with NaN": (lambda e: text(e, "--init-audio", str(_float_wav(e, "n.wav", math.nan))), 2,
                            "NaN or infinite samples"),
}


@pytest.mark.parametrize("case", sorted(MEDIA))
def test_bad_media(env, capsys, monkeypatch, case):
    check(env, *MEDIA[case], capsys, monkeypatch)


# ------------------------------------------------------------------------------------------------ outputs

OUTPUTS = {
    "mp3 output": (lambda e: text(e, "-o", "out.mp3"), 2, "cannot write .mp3"),
    "output without suffix": (lambda e: text(e, "-o", "out"), 2, "without a suffix"),
    "output is a folder": (lambda e: text(e, "-o", str(e.file("d/x").parent)), 2, "is a folder"),
    "output under a file": (lambda e: text(e, "-o", str(e.file("f") / "o.wav")), 2, "is a file"),
    "out-dir is a file": (lambda e: text(e, "--out-dir", str(e.file("f"))), 2, "is a file"),
    "out-dir under a file": (lambda e: text(e, "--out-dir", str(e.file("f") / "sub")), 2, "is a file"),
    "output is the input": (lambda e: with_audio(e, "--inpaint", "1", "2", "-o", str(e.audio), "--overwrite"), 2,
                            "is an input of this run"),
    "output exists": (lambda e: text(e, "-o", str(e.file("taken.wav", b"precious"))), 2, "pass --overwrite"),
    "float flac": (lambda e: text(e, "-o", "o.flac", "--float"), 2, "only .wav"),
    "output name too long": (lambda e: text(e, "-o", "x" * 300 + ".wav"), 2, "file name too long"),
    "output is the init audio": (lambda e: text(e, "--init-audio", str(_copy(e, e.audio)), "-o",
                                                str(e.root / "in" / e.audio.name), "--overwrite"), 2,
                                 "is an input of this run"),
}


def _copy(env: Env, path: Path) -> Path:
    return env.file(path.name, path.read_bytes())


@pytest.mark.parametrize("case", sorted(OUTPUTS))
def test_bad_output_paths(env, capsys, monkeypatch, case):
    check(env, *OUTPUTS[case], capsys, monkeypatch)


# ------------------------------------------------------------------------------------------ model folders


def _options(edit):
    def apply(folder: Path) -> None:
        path = folder / "audiox.json"
        options = json.loads(path.read_text())
        result = edit(options)
        path.write_text(result if isinstance(result, str) else json.dumps(options))
    return apply


def _write(name: str, data: bytes | str):
    def apply(folder: Path) -> None:
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return apply


def _config(edit):
    def apply(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        edit(config)
        (folder / "config.json").write_text(json.dumps(config))
    return apply


def _model(edit=None, *more: str):
    return lambda e: ["a bell", "--model", str(e.model_copy(edit)), *FAST, *more]


MODELS = {
    "model folder missing": (lambda e: ["a bell", "--model", str(e.root / "nowhere"), *FAST], 2,
                             "model folder not found"),
    "model is a file": (lambda e: ["a bell", "--model", str(e.file("m.ckpt", b"x")), *FAST], 2,
                        "is a file, not a model folder"),
    "config.json missing": (_model(lambda f: (f / "config.json").unlink()), 2, "config file not found"),
    "config.json not JSON": (_model(_write("config.json", "{oops")), 2, "not valid JSON"),
    "config.json not UTF-8": (_model(_write("config.json", b"\xff\xfe{}")), 2, "not valid JSON"),
    "config.json unknown field": (_model(_config(lambda c: c.update(sample_rat=1))), 2, "sample_rat: unknown field"),
    "config.json wrong type": (_model(_config(lambda c: c.update(sample_rate="fast"))), 2, "sample_rate"),
    "audiox.json not JSON": (_model(_write("audiox.json", "{")), 2, "audiox.json: not valid JSON"),
    "audiox.json not UTF-8": (_model(_write("audiox.json", b"{\"a\xff\": 1}")), 2, "audiox.json: not UTF-8"),
    "audiox.json a list": (_model(_write("audiox.json", "[1, 2]")), 2, "expected a JSON object, got list"),
    "audiox.json unknown field": (_model(_options(lambda o: o.update(colour=1))), 2, "colour: unknown field"),
    "audiox.json unknown default": (_model(_options(lambda o: o.update(generation_defaults={
        "sampler": "euler", "steps": 2, "cfg_scale": 1.0, "temperature": 1}))), 2,
        "generation_defaults.temperature: unknown field"),
    "audiox.json steps not a number": (_model(_options(lambda o: o.update(generation_defaults={
        "sampler": "euler", "steps": "many", "cfg_scale": 1.0}))), 2, "generation_defaults.steps"),
    "audiox.json cfg NaN": (_model(_options(lambda o: o.update(generation_defaults={
        "sampler": "euler", "steps": 2, "cfg_scale": math.nan}))), 2, "generation_defaults.cfg_scale"),
    "audiox.json defaults without sampler": (_model(_options(lambda o: o.update(generation_defaults={
        "steps": 2, "cfg_scale": 1.0}))), 2, "generation_defaults.sampler: missing"),
    "audiox.json dtype": (_model(_options(lambda o: o.update(text_encoder_dtype="float64"))), 2,
                          "text_encoder_dtype: 'float64' is not one of"),
    "audiox.json vision field": (_model(_options(lambda o: o["vision_config"].update(hidden_sise=3))), 2,
                                 "vision_config.hidden_sise: unknown field"),
    "audiox.json vision size": (_model(_options(lambda o: o["vision_config"].update(hidden_size=-4))), 2,
                                "vision_config.hidden_size: expected a positive integer"),
    "audiox.json temporal size": (_model(_options(lambda o: o["temporal_sizes"].update(temporal_depth="2"))), 2,
                                  "temporal_sizes.temporal_depth"),
    "audiox.json synchformer field": (_model(_options(lambda o: o["synchformer"].update(width=3))), 2,
                                      "synchformer.width: unknown field"),
    "weights missing": (_model(lambda f: (f / "model.safetensors").unlink()), 2, "no model weights"),
    "weights corrupt": (_model(_write("model.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")), 2,
                        "model.safetensors"),
    "synchformer path missing": (lambda e: text(e, "--synchformer", str(e.root / "none.pth")), 2,
                                 "--synchformer"),
    "t5 path missing": (lambda e: text(e, "--t5", str(e.root / "no_t5")), 2, "--t5"),
}


@pytest.mark.parametrize("case", sorted(MODELS))
def test_bad_model_folders(env, capsys, monkeypatch, case):
    check(env, *MODELS[case], capsys, monkeypatch)


def test_the_corpus_has_at_least_100_cases():
    tables = (NUMBERS, NAMES, COMBINATIONS, TEXTS, MEDIA, OUTPUTS, MODELS)
    assert sum(len(t) for t in tables) >= 100


def test_a_float_wav_of_silence_is_not_an_error(env, capsys, monkeypatch):
    """The other side of the NaN cases: really silent input gives a (silent) result, exit 0."""
    silent = env.sound("silence.wav", np.zeros((2, 2 * 2048), np.float32), subtype="FLOAT")
    monkeypatch.chdir(env.root)
    assert main(["generate", "--audio", str(silent), "--inpaint", "0.5", "1.0", "-o", "out.wav",
                 "--model", str(env.model), *FAST]) == 0
    written, _ = sf.read(env.root / "out.wav")
    assert written.shape == (2 * 2048, 2) and np.all(written[:1024] == 0) and np.all(written[2048:] == 0)
