"""The caption planner (own option `plan_slots`): timelines from labels, the conditioner's slots, the
MMDiT's time-aligned reading of them, training, and loading a folder that lacks the planner."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiox.synth.events import EVENT_KINDS
from audiox.synth.labels import EventLabel, MusicLabels, SceneLabels
from audiox.synth.plan_pretraining import PLAN_CHANNELS, plan_corpus, plan_scores, pretrain_planner, timeline

K = len(EVENT_KINDS)


def test_timeline_marks_active_and_onset_slots_of_each_event():
    bell, knock = EVENT_KINDS.index("bell"), EVENT_KINDS.index("knock")
    labels = SceneLabels(duration_s=10.0, events=(
        EventLabel(kind="knock", onset_s=0.05, offset_s=0.15),
        EventLabel(kind="bell", onset_s=2.6, offset_s=4.1),
    ))
    plan = timeline(labels, slots=10)  # 1 s slots
    assert plan.shape == (10, PLAN_CHANNELS)
    assert plan[:, knock].tolist() == [1] + [0] * 9 and plan[:, K + knock].tolist() == [1] + [0] * 9
    assert np.flatnonzero(plan[:, bell]).tolist() == [2, 3, 4] and np.flatnonzero(plan[:, K + bell]).tolist() == [2]
    assert plan[:, -1].sum() == 0 and plan.sum() == 2 + 3 + 1  # 3 active + onset cells, nothing else
    music = timeline(MusicLabels(duration_s=10.0, tempo_bpm=100.0, key="C", mode="major",
                                   instrument="piano", genre="pop"), slots=10)
    assert (music[:, -1] == 1).all() and music[:, :-1].sum() == 0


def _planned_conditioner(slots: int = 8):
    from audiox.conditioning.caption_tokenizer import own_text_encoder
    from audiox.conditioning.text_t5 import T5TextConditioner
    from audiox.config.schema import T5ConditionerConfig

    encoder = own_text_encoder(d_model=32, num_layers=1, num_heads=2, d_ff=64, seed=0, max_length=24)
    torch.manual_seed(0)
    cfg = T5ConditionerConfig(t5_model_name="audiox-own-t5", max_length=24, project_out=True,
                              plan_slots=slots, plan_channels=PLAN_CHANNELS)
    return T5TextConditioner(cfg, output_dim=16, text_encoder=encoder, text_encoder_dtype=torch.float32)


def test_conditioner_puts_the_timeline_in_the_last_slots_and_starts_at_zero():
    text = _planned_conditioner(slots=8)
    assert text.plan_start == 16 and not any(p.requires_grad for p in text.planner.parameters())
    tokens, mask = text(["a bell rings twice", ""])
    assert tokens.shape == (2, 24, 16) and mask[:, 16:].all()
    assert torch.equal(tokens[:, 16:], torch.zeros(2, 8, 16))  # the projection starts at zero
    hidden, attention = text.encode_text(["a bell rings twice"])
    plain = text.proj_out(hidden.float()) * attention[..., None]
    assert torch.allclose(tokens[:1, :16], plain[:, :16])  # caption slots as without a planner
    with torch.no_grad():
        text.plan_proj.weight.fill_(1.0)
    tokens, _ = text(["a bell rings twice"])
    expected = text.planner.plan(hidden, attention).sum(-1, keepdim=True) + text.plan_proj.bias
    assert torch.allclose(tokens[0, 16:], expected[0].expand(-1, 16), atol=1e-6)


def test_training_marks_the_planner_frozen_and_its_projection_trainable():
    from audiox.synth.training_data import build_own_model, text_conditioner
    from audiox.training.lightning_module import set_trainable

    model, _ = build_own_model("mmdit", seed=0, plan_slots=16)
    trainable = {id(p) for p in set_trainable(model)}
    text = text_conditioner(model)
    assert not any(id(p) in trainable for p in text.planner.parameters())
    assert all(id(p) in trainable for p in text.plan_proj.parameters())
    # the MMDiT reads timeline slot j only at the latent positions of slot j's time
    weight = model.backbone.transformer.proj_mm_seq_len.weight
    cols = weight[:, text.plan_start : text.plan_start + 16]
    assert torch.equal(cols[0], torch.zeros(16)) and torch.equal(cols[1:].sum(1), torch.ones(cols.shape[0] - 1))
    reads = cols[1:].argmax(1)
    assert reads[0] == 0 and reads[-1] == 15 and bool((reads.diff() >= 0).all())


def test_pretraining_lowers_the_held_out_loss():
    text = _planned_conditioner(slots=8)
    before = plan_scores(text, n=64, seed=5)
    log = pretrain_planner(text, steps=40, batch=16, lr=3e-3, corpus=200, seed=0)
    after = plan_scores(text, n=64, seed=5)
    assert len(log) == 40 and after["loss"] < 0.7 * before["loss"]
    assert not any(p.requires_grad for p in text.planner.parameters())


def test_corpus_targets_match_their_labels():
    data = plan_corpus(40, seed=3, slots=12, music_prob=0.5)
    assert data.targets.shape == (40, 12, PLAN_CHANNELS) and len(data.captions) == 40
    music = data.targets[:, 0, -1] > 0.5
    assert music.any() and (~music).any()
    assert (data.targets[~music, :, :K].sum((1, 2)) > 0).all()  # every scene has an active slot
    onsets, active = data.targets[:, :, K : 2 * K] > 0.5, data.targets[:, :, :K] > 0.5
    assert not (onsets & ~active).any()  # an onset slot is an active slot


def test_init_from_a_folder_without_planner_keeps_its_output(tmp_path):
    from audiox.pipeline import AudioX, GenerationRequest
    from audiox.pipeline.load import save_pipeline
    from audiox.synth.own_training import init_diffusion_from
    from audiox.synth.training_data import build_own_model

    old, options = build_own_model("mmdit", seed=0)
    save_pipeline(AudioX(old), tmp_path / "old", options=options)
    new, _ = build_own_model("mmdit", seed=1, plan_slots=16)
    init_diffusion_from(new, tmp_path / "old")
    request = GenerationRequest(text="two knocks then a bell", duration_s=2.0, seed=0, steps=2, cfg_scale=3.0)
    a, b = AudioX(AudioX.from_pretrained(tmp_path / "old").model)(request).audio, AudioX(new)(request).audio
    # the same up to what the re-pointed timeline columns read from the (near-zero) padding slots
    assert (a - b).abs().max() < 3e-3 * a.abs().max()


@pytest.mark.parametrize("slots", [0, 16])
def test_planned_folder_round_trips(tmp_path, slots):
    from audiox.pipeline import AudioX, GenerationRequest
    from audiox.pipeline.load import save_pipeline
    from audiox.synth.training_data import build_own_model, text_conditioner

    model, options = build_own_model("mmdit", seed=0, plan_slots=slots)
    if slots:
        with torch.no_grad():
            text_conditioner(model).plan_proj.weight.normal_()
    save_pipeline(AudioX(model), tmp_path / "m", options=options)
    loaded = AudioX.from_pretrained(tmp_path / "m")
    assert (text_conditioner(loaded.model).planner is not None) == bool(slots)
    request = GenerationRequest(text="a bell", duration_s=1.0, seed=0, steps=1)
    assert torch.equal(AudioX(model)(request).audio, loaded(request).audio)
