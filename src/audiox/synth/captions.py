"""Caption composer: structured labels -> varied natural captions in the IF-caps style.

Scene styles: "tags" ("knock, bell"), "counts" ("Someone knocks three times and a bell rings once."),
"numbers" ("Three knocks and one bell."), "order" ("Someone knocking three times, followed by a bell
ringing once."), "timestamps" ("Between 1.2s and 3.4s, someone knocks three times; between 5s and 6s,
a bell rings once."). Music styles: "tags" and "sentence" (genre, instrument, tempo word, key, BPM).
Kinds outside the built-in vocabulary get generic phrases ("a {kind} sound"), so the same code
captions a user's own labels (`labels_from_dict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np

from audiox.errors import InputError
from audiox.synth.labels import Labels, MusicLabels, SceneLabels

SCENE_STYLES: tuple[str, ...] = ("tags", "counts", "numbers", "order", "timestamps")
MUSIC_STYLES: tuple[str, ...] = ("tags", "sentence")
COUNT_WORDS = {1: "once", 2: "twice", 3: "three times", 4: "four times"}
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


@dataclass(frozen=True, slots=True)
class Phrases:
    """How to say one kind: tag, noun, plural noun, clause ("a bell rings"), gerund ("a bell ringing")."""

    tag: str
    noun: str
    plural: str
    clause: str
    gerund: str


VOCABULARY: dict[str, Phrases] = {
    "tone": Phrases("tone", "tone", "tones", "a steady tone sounds", "a steady tone sounding"),
    "chirp": Phrases("chirp", "chirp", "chirps", "a rising chirp sweeps up", "a rising chirp"),
    "knock": Phrases("knock", "knock", "knocks", "someone knocks", "someone knocking"),
    "clap": Phrases("clap", "clap", "claps", "someone claps", "a hand clap"),
    "bell": Phrases("bell", "bell", "bells", "a bell rings", "a bell ringing"),
    "whistle": Phrases("whistle", "whistle", "whistles", "someone whistles", "someone whistling"),
    "engine": Phrases("engine", "engine", "engines", "an engine rumbles", "an engine rumbling"),
    "rain": Phrases("rain", "burst of rain", "bursts of rain", "rain patters", "rain pattering"),
    "drum": Phrases("drum", "drum hit", "drum hits", "a drum is struck", "a drum hit"),
    "buzzer": Phrases("buzzer", "buzzer", "buzzers", "a buzzer buzzes", "a buzzer buzzing"),
}
BACKGROUND_PHRASES = {
    "hum": "over a faint electrical hum",
    "noise": "with soft background noise",
    "room": "over a low room rumble",
}
GENRE_NOUNS = {
    "pop": ("pop song", "pop tune"),
    "electronic": ("electronic track", "dance track"),
    "ambient": ("ambient piece", "ambient soundscape"),
    "folk": ("folk tune", "folk song"),
}
INSTRUMENT_NOUNS = {
    "piano": "piano",
    "organ": "organ",
    "guitar": "acoustic guitar",
    "flute": "flute",
    "strings": "strings",
    "synth": "synthesizer",
}


def phrases(kind: str, vocabulary: Mapping[str, Phrases] | None = None) -> Phrases:
    """Vocabulary of a kind (`vocabulary` first, then the built-in table); generic phrases for kinds
    neither knows."""
    if vocabulary is not None and kind in vocabulary:
        return vocabulary[kind]
    if kind in VOCABULARY:
        return VOCABULARY[kind]
    return Phrases(kind, f"{kind} sound", f"{kind} sounds", f"a {kind} sound is heard", f"a {kind} sound")


def count_word(count: int) -> str:
    return COUNT_WORDS.get(count, f"{count} times")


def number_word(count: int) -> str:
    return NUMBER_WORDS[count] if count in NUMBER_WORDS else str(count)


def format_seconds(seconds: float) -> str:
    """1.0 -> '1s', 2.25 -> '2.2s' (one decimal, trailing zero dropped)."""
    text = f"{seconds:.1f}".rstrip("0").rstrip(".")
    return f"{text}s"


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _join(parts: list[str], rng: np.random.Generator) -> str:
    if len(parts) == 1:
        return parts[0]
    last_joiner = " and " if rng.random() < 0.7 else ", then "
    return ", ".join(parts[:-1]) + last_joiner + parts[-1]


def _scene_caption(
    labels: SceneLabels, style: str, rng: np.random.Generator, vocabulary: Mapping[str, Phrases] | None = None
) -> str:
    counts, say = labels.counts, partial(phrases, vocabulary=vocabulary)
    if style == "tags":
        return ", ".join(say(k).tag for k in counts)
    if style == "counts":
        text = _join([f"{say(k).clause} {count_word(n)}" for k, n in counts.items()], rng)
    elif style == "numbers":
        items = [
            f"{number_word(n)} {say(k).plural if n > 1 else say(k).noun}" for k, n in counts.items()
        ]
        text = _join(items, rng)
    elif style == "order":
        items = [f"{say(k).gerund} {count_word(n)}" for k, n in counts.items()]
        text = ", followed by ".join(items)
    elif style == "timestamps":
        spans = []
        for kind, count in counts.items():
            events = [e for e in labels.events if e.kind == kind]
            start, end = min(e.onset_s for e in events), max(e.offset_s for e in events)
            spans.append(
                f"between {format_seconds(start)} and {format_seconds(end)}, "
                f"{say(kind).clause} {count_word(count)}"
            )
        text = "; ".join(spans)
    else:
        raise InputError(f"unknown scene caption style {style!r}; use one of {SCENE_STYLES}")
    if labels.background in BACKGROUND_PHRASES and rng.random() < 0.5:
        text = f"{text}, {BACKGROUND_PHRASES[labels.background]}"
    return _sentence(text)


def tempo_word(tempo_bpm: float) -> str:
    if tempo_bpm < 85:
        return "slow"
    if tempo_bpm < 110:
        return "moderate"
    return "upbeat" if tempo_bpm < 130 else "fast"


def _music_caption(labels: MusicLabels, style: str, rng: np.random.Generator) -> str:
    genre = GENRE_NOUNS[labels.genre][int(rng.integers(2))] if labels.genre in GENRE_NOUNS else labels.genre
    instrument = INSTRUMENT_NOUNS.get(labels.instrument, labels.instrument)
    tempo, bpm = tempo_word(labels.tempo_bpm), f"{labels.tempo_bpm:g} BPM"
    key = f"{labels.key} {labels.mode}"
    if style == "tags":
        return f"{labels.genre}, {instrument}, {tempo}, {key}, {bpm.lower()}"
    if style != "sentence":
        raise InputError(f"unknown music caption style {style!r}; use one of {MUSIC_STYLES}")
    mood = (
        ("bright", "cheerful")[int(rng.integers(2))]
        if labels.mode == "major"
        else ("melancholic", "moody")[int(rng.integers(2))]
    )
    templates = (
        f"a {tempo} {genre} featuring {instrument}, in {key} at {bpm}",
        f"a {mood} {genre} played on {instrument} over a simple bass line, {key}, {bpm}",
        f"{instrument} melody with bass in {key}, a {tempo} {genre} at {bpm}",
    )
    return _sentence(templates[int(rng.integers(len(templates)))])


def caption_styles(labels: Labels) -> tuple[str, ...]:
    return MUSIC_STYLES if isinstance(labels, MusicLabels) else SCENE_STYLES


def compose_caption(
    labels: Labels, rng: np.random.Generator, *, style: str | None = None,
    vocabulary: Mapping[str, Phrases] | None = None,
) -> str:
    """One caption for `labels`; `style` None draws a style from `caption_styles(labels)` with `rng`;
    `vocabulary` says some kinds in other words than the built-in table (e.g. to teach a new phrasing)."""
    styles = caption_styles(labels)
    style = styles[int(rng.integers(len(styles)))] if style is None else style
    if isinstance(labels, MusicLabels):
        return _music_caption(labels, style, rng)
    if not labels.events:
        return "Silence." if labels.background == "none" else f"Only background sound ({labels.background})."
    return _scene_caption(labels, style, rng, vocabulary)
