"""Manifest parsing: official fields, time-ranged captions, line-numbered errors."""

from __future__ import annotations

import json

import pytest

from audiox.errors import ConfigError, MediaError
from audiox.training.manifest import (
    AUDIO_PROMPT_RULES,
    caption_for_window,
    default_text_prompt,
    parse_time_range,
    read_manifest,
)

OFFICIAL_STYLE = {
    "path": "data/media/audio/00001.mp3",
    "video_path": "data/media/video/00001.mp4",
    "sync_feature": "data/media/sync/00001.pth",
    "duration": 10.0,
    "caption": {"audio_caption": {"0-10": "a dog barks"}},
    "type": "video_condition-audio",
    "id": "00001",
}


def write_lines(tmp_path, lines: list[str]):
    path = tmp_path / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_official_fields_and_keeps_extras(tmp_path):
    text_only = {
        "path": "a.wav",
        "caption": "rain on a roof",
        "type": "text_condition-audio",
        "video_path": "",
    }
    path = write_lines(tmp_path, [json.dumps(OFFICIAL_STYLE), "", json.dumps(text_only)])
    first, second = read_manifest(path)
    assert first.path == OFFICIAL_STYLE["path"] and first.video_path == OFFICIAL_STYLE["video_path"]
    assert first.sync_feature == OFFICIAL_STYLE["sync_feature"] and first.duration == 10.0
    assert first.type == "video_condition-audio" and first.extras == {"id": "00001"}
    assert first.line_number == 1 and second.line_number == 3  # blank line skipped, numbering kept
    assert second.video_path is None and second.sync_feature is None and second.caption == "rain on a roof"
    assert second.target_kind == "audio" and second.audio_prompt_rule == "none"


def test_root_joins_relative_paths(tmp_path):
    path = write_lines(tmp_path, [json.dumps(OFFICIAL_STYLE)])
    (record,) = read_manifest(path, root="/data/root")
    assert record.path == "/data/root/data/media/audio/00001.mp3"
    assert record.video_path == "/data/root/data/media/video/00001.mp4"


BAD_LINES = [
    ("{not json", "manifest.jsonl:2: not valid JSON"),
    ("[1, 2]", "manifest.jsonl:2: expected a JSON object"),
    (json.dumps({"type": "text_condition-audio"}), "manifest.jsonl:2: field 'path'"),
    (json.dumps({"path": "a.wav"}), "manifest.jsonl:2: field 'type'"),
    (json.dumps({"path": "a.wav", "type": "speech"}), "manifest.jsonl:2: unknown type 'speech'"),
    (json.dumps({"path": "a.wav", "type": "text_condition-audio", "duration": "long"}), "field 'duration'"),
    (json.dumps({"path": "a.wav", "type": "text_condition-audio", "video_path": 3}), "field 'video_path'"),
    (json.dumps({"path": "a.wav", "type": "text_condition-audio", "caption": 5}), "field 'caption'"),
    (
        json.dumps(
            {"path": "a.wav", "type": "text_condition-audio", "caption": {"audio_caption": {"a-b": "x"}}}
        ),
        "'a-b'",
    ),
    (
        json.dumps(
            {"path": "a.wav", "type": "text_condition-audio", "caption": {"audio_caption": {"5-2": "x"}}}
        ),
        "'5-2'",
    ),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_bad_lines_are_one_line_config_errors_with_line_number(tmp_path, line, message):
    path = write_lines(tmp_path, [json.dumps(OFFICIAL_STYLE), line])
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as info:
        read_manifest(path)
    assert "\n" not in str(info.value)
    assert ":2:" in str(info.value)


def test_missing_and_empty_manifest(tmp_path):
    with pytest.raises(ConfigError, match="manifest not found"):
        read_manifest(tmp_path / "nope.jsonl")
    with pytest.raises(ConfigError, match="no records"):
        read_manifest(write_lines(tmp_path, ["", "  "]))


def test_check_files_names_the_line(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"x")
    ok = {"path": str(tmp_path / "a.wav"), "type": "text_condition-audio"}
    missing_video = dict(ok, video_path=str(tmp_path / "v.mp4"))
    path = write_lines(tmp_path, [json.dumps(ok), json.dumps(missing_video)])
    assert len(read_manifest(path)) == 2  # not checked by default
    with pytest.raises(MediaError, match=r"manifest.jsonl:2: video_path .*v.mp4 not found"):
        read_manifest(path, check_files=True)


def test_every_official_type_has_a_prompt_rule():
    assert AUDIO_PROMPT_RULES["audio_condition-audio"] == "same"
    assert AUDIO_PROMPT_RULES["audio_condition-music"] == "previous"
    assert {rule for t, rule in AUDIO_PROMPT_RULES.items() if t.startswith(("text", "video"))} == {"none"}
    assert default_text_prompt("video_condition-music") == "Generate music for the video"
    assert default_text_prompt("video_condition-audio") == "Generate general audio for the video"


def test_time_range_parsing():
    assert parse_time_range("0-10") == (0.0, 10.0)
    assert parse_time_range("2.5-7") == (2.5, 7.0)
    for bad in ("10", "-5-3", "3-3", "x-1"):
        with pytest.raises(ConfigError):
            parse_time_range(bad)


def test_caption_for_window_picks_the_overlapping_range():
    caption = {"audio_caption": {"0-10": "first", "10-20": "second", "20-30": "third"}}
    assert caption_for_window(caption, 0.0, 10.0) == "first"
    assert caption_for_window(caption, 10.0, 20.0) == "second"
    assert caption_for_window(caption, 12.0, 23.0) == "second"  # 8 s overlap beats 3 s
    assert caption_for_window(caption, 40.0, 50.0) == "third"  # no overlap: the nearest range
    assert caption_for_window("plain", 40.0, 50.0) == "plain"
    assert caption_for_window({}, 0.0, 10.0) == ""


def test_caption_kind_follows_the_target():
    caption = {"audio_caption": "sfx words", "music_caption": {"0-10": "piano"}}
    assert caption_for_window(caption, 0.0, 10.0, kind="audio") == "sfx words"
    assert caption_for_window(caption, 0.0, 10.0, kind="music") == "piano"
    assert caption_for_window({"video_caption": "a street"}, 0.0, 10.0, kind="music") == "a street"
