import numpy as np
import pytest

from audiox.errors import InputError
from audiox.synth.captions import Phrases, compose_caption, format_seconds
from audiox.synth.labels import EventLabel, MusicLabels, SceneLabels, labels_from_dict


def _scene():
    events = (
        EventLabel(kind="knock", onset_s=0.5, offset_s=0.6),
        EventLabel(kind="knock", onset_s=1.0, offset_s=1.1),
        EventLabel(kind="knock", onset_s=1.5, offset_s=1.6),
        EventLabel(kind="bell", onset_s=2.0, offset_s=3.0),
        EventLabel(kind="bell", onset_s=4.0, offset_s=4.5),
    )
    return SceneLabels(duration_s=6.0, events=events)


def test_counts_and_order_words():
    rng = np.random.default_rng(0)
    order = compose_caption(_scene(), rng, style="order")
    assert order.index("knock") < order.index("followed by") < order.index("bell")
    assert "three times" in order and "twice" in order
    counts = compose_caption(_scene(), rng, style="counts")
    assert "three times" in counts and "twice" in counts
    numbers = compose_caption(_scene(), rng, style="numbers")
    assert "three knocks" in numbers.lower() and "two bells" in numbers
    assert compose_caption(_scene(), rng, style="tags") == "knock, bell"


def test_timestamps():
    text = compose_caption(_scene(), np.random.default_rng(0), style="timestamps")
    assert text.startswith("Between 0.5s and 1.6s, someone knocks three times; between 2s and 4.5s")
    assert format_seconds(2.0) == "2s" and format_seconds(2.25) in ("2.2s", "2.3s")


def test_music_caption_words():
    labels = MusicLabels(
        duration_s=10.0, tempo_bpm=140.0, key="F#", mode="minor", instrument="piano", genre="pop"
    )
    rng = np.random.default_rng(1)
    for _ in range(5):
        text = compose_caption(labels, rng, style="sentence")
        assert "piano" in text.lower() and "140 BPM" in text and "pop" in text
    assert compose_caption(labels, rng, style="tags") == "pop, piano, fast, F# minor, 140 bpm"


def test_varied_and_seeded():
    scene = _scene()
    texts = {compose_caption(scene, np.random.default_rng(s)) for s in range(30)}
    assert len(texts) >= 4
    assert compose_caption(scene, np.random.default_rng(3)) == compose_caption(
        scene, np.random.default_rng(3)
    )


def test_user_labels_with_unknown_kinds():
    user = labels_from_dict(
        {
            "duration_s": 8.0,
            "events": [
                {"kind": "dog bark", "onset_s": 1.0, "offset_s": 1.3},
                {"kind": "dog bark", "onset_s": 2.0, "offset_s": 2.3},
                {"kind": "siren", "onset_s": 4.0, "offset_s": 7.0},
            ],
        }
    )
    text = compose_caption(user, np.random.default_rng(0), style="order")
    assert text == "A dog bark sound twice, followed by a siren sound once."
    with pytest.raises(InputError, match="style"):
        compose_caption(user, np.random.default_rng(0), style="poem")


def test_vocabulary_says_a_kind_in_other_words():
    door = Phrases("door rap", "rap on the door", "raps on the door", "a visitor raps on the door",
                   "a visitor rapping on the door")
    for style in ("tags", "counts", "numbers", "order", "timestamps"):
        plain = compose_caption(_scene(), np.random.default_rng(0), style=style)
        new = compose_caption(_scene(), np.random.default_rng(0), style=style, vocabulary={"knock": door})
        assert "knock" in plain.lower() and "knock" not in new.lower(), style
        assert "door" in new and "bell" in new, style  # the other kind keeps its words
    numbers = compose_caption(_scene(), np.random.default_rng(0), style="numbers", vocabulary={"knock": door})
    assert "three raps on the door" in numbers.lower()
