"""The built-in `events` embedder: shapes, and logits that name the kind of an isolated event."""

import numpy as np
import pytest
import torch

from audiox.cli.generate import _base_name
from audiox.evaluation.embedders.events import EVENTS_SAMPLE_RATE, EventsEmbedder
from audiox.evaluation.event_classifier import render_isolated_event
from audiox.evaluation.world_set import output_name, write_world_set
from audiox.synth.events import EVENT_KINDS


def test_outputs_and_kind(analyser):
    embedder = EventsEmbedder(analyser)
    rng = np.random.default_rng(5)
    hits = 0
    for kind in EVENT_KINDS:
        clip, _, _ = render_isolated_event(
            kind, rng, EVENTS_SAMPLE_RATE, num_samples=int(2.5 * EVENTS_SAMPLE_RATE)
        )
        out = embedder.embed(torch.from_numpy(clip.astype(np.float32)))
        assert out["frames"].shape == (2, 152) and out["clip"].shape == (152 + len(EVENT_KINDS),)
        assert out["logits"].shape == (len(EVENT_KINDS),) and np.all(np.isfinite(out["clip"]))
        hits += EVENT_KINDS[int(np.argmax(out["logits"]))] == kind
    assert hits >= 8  # the analyser's classifier, trained on 16 events per kind here


def test_sha_identifies_the_weights(analyser):
    a, b = EventsEmbedder(analyser), EventsEmbedder(analyser)
    assert a.info.sha256 == b.info.sha256 and len(a.info.sha256) == 64


def test_world_set_names_match_generate(tmp_path):
    for text in ("Two bells, then a knock.", "A calm piano melody with bass in C major at 90 BPM." * 3):
        assert output_name(text) == _base_name(text, None) + "_t2a"
    names = write_world_set(tmp_path, num=3, seed=4, sample_rate=8000, duration_s=1.0)
    assert sorted(p.stem for p in (tmp_path / "truth").iterdir()) == sorted(names)
    assert (tmp_path / "prompts.txt").read_text().count("\n") == 3
    with pytest.raises(Exception, match="not empty"):
        write_world_set(tmp_path, num=1, seed=4, sample_rate=8000, duration_s=1.0)
