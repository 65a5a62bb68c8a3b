"""Training manifests: JSONL files in the official AudioX-Turbo format, one record per line.

A line looks like (official field names; only `path` and `type` are required)::

    {"path": "data/media/audio/00001.mp3", "video_path": "data/media/video/00001.mp4",
     "sync_feature": "data/media/sync/00001.pth", "duration": 10.0, "type": "video_condition-audio",
     "caption": {"audio_caption": {"0-10": "a dog barks", "10-20": "rain"}}}

`caption` is a plain string or a dict of caption kinds (``audio_caption``, ``music_caption``...) whose
values are strings or time-ranged strings keyed ``"<start_s>-<end_s>"``; `caption_for_window` picks the
one for a training window. `type` is ``<condition>-<target>`` and decides the audio prompt
(`AUDIO_PROMPT_RULES`). Relative paths are kept as written (the official loader opens them relative
to the working directory) unless a `root` is given. Unknown fields are kept in `ManifestRecord.extras`.
Every malformed line is a one-line ConfigError naming the file and line number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiox.errors import ConfigError, MediaError

# official types (dataset.py): which conditions a record trains, and what the audio prompt is.
#   "none": a zero prompt; "same": the target's own window; "previous": the window before it.
AUDIO_PROMPT_RULES: dict[str, str] = {
    "text_condition-audio": "none",
    "text_condition-music": "none",
    "video_condition-audio": "none",
    "video_condition-music": "none",
    "text+video_condition-audio": "none",
    "text+video_condition-music": "none",
    "audio_condition-audio": "same",
    "audio_condition-music": "previous",
    "uni_condition-audio": "same",
    "uni_condition-music": "previous",
}

# Default sentences for a missing text condition, by target kind (the prompts the official README
# uses for video-only generation).
DEFAULT_TEXT_PROMPTS: dict[str, str] = {
    "audio": "Generate general audio for the video",
    "music": "Generate music for the video",
}

KNOWN_FIELDS = ("path", "video_path", "sync_feature", "duration", "caption", "type")
CAPTION_PREFERENCE = {"audio": ("audio_caption", "caption"), "music": ("music_caption", "caption")}

Caption = str | dict[str, "str | dict[str, str]"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ManifestRecord:
    """One manifest line. Paths are None when the field is absent, null or empty."""

    path: str
    type: str
    caption: Caption = ""
    video_path: str | None = None
    sync_feature: str | None = None
    duration: float | None = None
    line_number: int = 0
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def target_kind(self) -> str:
        """ "audio" or "music": the part of `type` after the last '-'."""
        return target_kind(self.type)

    @property
    def audio_prompt_rule(self) -> str:
        """ "none", "same" or "previous" (see `AUDIO_PROMPT_RULES`)."""
        return AUDIO_PROMPT_RULES[self.type]


def target_kind(data_type: str) -> str:
    """ "audio" or "music" from a manifest type such as "text+video_condition-music"."""
    return data_type.rsplit("-", 1)[-1]


def default_text_prompt(data_type: str) -> str:
    """The sentence that stands in for a missing or masked text prompt of this record type."""
    return DEFAULT_TEXT_PROMPTS[target_kind(data_type)]


def read_manifest(
    path: str | os.PathLike, *, root: str | os.PathLike | None = None, check_files: bool = False
) -> list[ManifestRecord]:
    """Parse a JSONL manifest. Blank lines are skipped; any bad line raises a one-line ConfigError.

    `root` joins relative media paths; `check_files` makes a missing audio/video/sync file a
    MediaError naming the line (otherwise it surfaces when the item is loaded).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: manifest not found; pass the path of a .jsonl file")
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                records.append(parse_record(line, where=f"{path}:{number}", line_number=number, root=root))
    if not records:
        raise ConfigError(f"{path}: manifest has no records; add one JSON object per line")
    if check_files:
        for record in records:
            check_record_files(record, where=f"{path}:{record.line_number}")
    return records


def parse_record(
    line: str, *, where: str, line_number: int = 0, root: str | os.PathLike | None = None
) -> ManifestRecord:
    """One JSON line -> ManifestRecord. `where` ("file:line") prefixes every error message."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}); fix the line") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(data).__name__}")
    for name in ("path", "type"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise ConfigError(f"{where}: field '{name}' is missing or not a non-empty string")
    if data["type"] not in AUDIO_PROMPT_RULES:
        raise ConfigError(f"{where}: unknown type {data['type']!r}; use one of {sorted(AUDIO_PROMPT_RULES)}")
    caption = data.get("caption")
    _check_caption(caption, where)
    return ManifestRecord(
        path=_join(root, data["path"]),
        type=data["type"],
        caption=caption if caption is not None else "",
        video_path=_optional_path(data, "video_path", where, root),
        sync_feature=_optional_path(data, "sync_feature", where, root),
        duration=_optional_duration(data, where),
        line_number=line_number,
        extras={k: v for k, v in data.items() if k not in KNOWN_FIELDS},
    )


def _join(root: str | os.PathLike | None, value: str) -> str:
    return value if root is None else str(Path(root) / value)


def _optional_path(data: dict, name: str, where: str, root: str | os.PathLike | None) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: field '{name}' must be a path string or null, got {value!r}")
    return _join(root, value)


def _optional_duration(data: dict, where: str) -> float | None:
    value = data.get("duration")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{where}: field 'duration' must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _check_caption(caption: Any, where: str) -> None:
    if caption is None or isinstance(caption, str):
        return
    if not isinstance(caption, dict):
        raise ConfigError(f"{where}: field 'caption' must be a string or an object, got {caption!r}")
    for kind, value in caption.items():
        if isinstance(value, str):
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(f"{where}: caption '{kind}' must be a string or {{\"<start>-<end>\": str}}")
        for key in value:
            parse_time_range(key, where=f"{where}: caption '{kind}'")


def parse_time_range(key: str, *, where: str = "caption") -> tuple[float, float]:
    """ "0-10" -> (0.0, 10.0); "2.5-7" -> (2.5, 7.0). Raises ConfigError unless 0 <= start < end."""
    start_text, sep, end_text = key.partition("-")
    try:
        start, end = float(start_text), float(end_text)
    except ValueError:
        start, end = -1.0, -1.0
    if not sep or not 0 <= start < end:
        raise ConfigError(f"{where}: time range {key!r} must look like '<start_s>-<end_s>' with start < end")
    return start, end


def caption_for_window(caption: Caption, start_s: float, end_s: float, *, kind: str = "audio") -> str:
    """The caption text for the window [start_s, end_s) of the audio.

    A string is returned as is. For a dict, the caption kind is the first present of
    ``<kind>_caption``, ``caption``, else the dict's first key; a time-ranged kind returns the range
    overlapping the window most (ties: the earliest; no overlap: the range nearest the window).
    """
    if isinstance(caption, str):
        return caption
    if not caption:
        return ""
    preferred = CAPTION_PREFERENCE.get(kind, ("caption",))
    names = [name for name in preferred if name in caption]
    value = caption[names[0] if names else next(iter(caption))]
    if isinstance(value, str):
        return value
    if not value:
        return ""
    ranges = [(parse_time_range(key), text) for key, text in value.items()]
    return max(ranges, key=lambda item: _window_score(item[0], start_s, end_s))[1]


def _window_score(span: tuple[float, float], start_s: float, end_s: float) -> tuple[float, float, float]:
    overlap = min(span[1], end_s) - max(span[0], start_s)
    distance = max(span[0] - end_s, start_s - span[1], 0.0)
    return (max(overlap, 0.0), -distance, -span[0])


def check_record_files(record: ManifestRecord, *, where: str) -> None:
    """Raise a one-line MediaError if a file the record names does not exist."""
    for name, value in (
        ("path", record.path),
        ("video_path", record.video_path),
        ("sync_feature", record.sync_feature),
    ):
        if value is not None and not Path(value).is_file():
            raise MediaError(f"{where}: {name} {value} not found; fix the path or the manifest root")
