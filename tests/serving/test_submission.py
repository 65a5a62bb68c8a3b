"""Request fields from JSON or form values, server limits, uploads."""

from __future__ import annotations

import dataclasses
import io

import pytest

from tests.serving.server import SERVE_EXTRA

pytest.importorskip("pydantic", reason=SERVE_EXTRA)

from audiox.errors import InputError
from audiox.pipeline import GenerationRequest
from audiox.serving.settings import ServeSettings
from audiox.serving.submission import JobFields, UploadTooLarge, build_request, parse_fields, save_upload


def test_the_fields_are_those_of_a_generation_request():
    # the server takes no init-audio upload (variations) yet
    media_or_tensor_only = {"video", "image", "audio", "audio_sample_rate", "init_audio", "init_audio_sample_rate",
                            "init_strength"}
    assert set(JobFields.model_fields) == {f.name for f in dataclasses.fields(GenerationRequest)} - media_or_tensor_only


def test_form_strings_are_parsed_and_empty_ones_ignored():
    fields = parse_fields({"text": "rain", "steps": "25", "cfg_scale": "", "inpaint": "1.5, 2", "seed": "12"})
    assert (fields.steps, fields.cfg_scale, fields.inpaint, fields.seed) == (25, None, (1.5, 2.0), 12)
    assert parse_fields({"inpaint": "[1, 2]"}).inpaint == (1.0, 2.0)


@pytest.mark.parametrize(
    "values, text",
    [
        ({"steps": "many"}, "steps: Input should be a valid integer"),
        ({"task": "speech"}, "task: Input should be 'auto', 'audio' or 'music'"),
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"inpaint": "1"}, "inpaint"),
        ({"inpaint": "[1, oops]"}, "inpaint"),
    ],
)
def test_bad_fields_are_one_line(values, text):
    with pytest.raises(InputError) as info:
        parse_fields(values)
    assert text in str(info.value) and "\n" not in str(info.value)


def test_limits_and_seeds(tmp_path):
    settings = ServeSettings(results_dir=tmp_path, max_duration_s=12, max_batch_size=2, max_steps=10)
    for values, text in [({"duration_s": 13}, "duration_s 13 is over"), ({"batch_size": 3}, "batch_size 3"),
                         ({"steps": 11}, "steps 11"), ({}, None)]:
        fields = parse_fields({"text": "x", **values})
        if text is None:
            seeds = {build_request(fields, {}, settings).seed for _ in range(4)}
            assert len(seeds) == 4 and all(0 <= s < 2**32 for s in seeds)  # -1: a fresh random seed each time
        else:
            with pytest.raises(InputError, match=text):
                build_request(fields, {}, settings)
    assert build_request(parse_fields({"text": "x", "seed": 5}), {}, settings).seed == 5


def test_uploads_are_checked_by_suffix_and_size(tmp_path):
    assert save_upload("audio", "Take.WAV", io.BytesIO(b"x" * 10), tmp_path, 10).name == "audio.wav"
    with pytest.raises(UploadTooLarge, match="limit"):
        save_upload("audio", "take.wav", io.BytesIO(b"x" * 11), tmp_path, 10)
    with pytest.raises(InputError, match="not a video file"):
        save_upload("video", "clip.exe", io.BytesIO(b"x"), tmp_path, 10)
    with pytest.raises(InputError, match="unknown upload"):
        save_upload("subtitles", "a.srt", io.BytesIO(b"x"), tmp_path, 10)


def test_settings_are_checked(tmp_path):
    with pytest.raises(InputError, match="--queue-size must be >= 1"):
        ServeSettings(results_dir=tmp_path, queue_size=0)
