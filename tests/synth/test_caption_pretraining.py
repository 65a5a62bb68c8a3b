"""Caption-encoder pretraining on the world's captions: targets say what each caption asks for, and a few
steps of training make the pooled states say it more plainly."""

from __future__ import annotations

import torch

from audiox.synth.caption_pretraining import (
    MAX_COUNT,
    caption_corpus,
    kind_readout,
    pooled_states,
    pretrain_caption_encoder,
)
from audiox.synth.events import EVENT_KINDS


def _tiny_encoder():
    from audiox.conditioning.caption_tokenizer import own_text_encoder

    return own_text_encoder(d_model=32, num_layers=1, num_heads=2, d_ff=64, seed=0, max_length=64)


def test_corpus_targets_match_the_captions():
    data = caption_corpus(60, seed=0, music_prob=0.3)
    assert len(data.captions) == 60 and data.kinds.shape == data.counts.shape == (60, len(EVENT_KINDS))
    assert ((data.kinds > 0) == (data.counts > 0)).all() and int(data.counts.max()) <= MAX_COUNT
    music = data.music.bool()
    assert music.any() and (~music).any()
    assert (data.kinds[music] == 0).all() and (data.first[music] == -100).all()
    scenes = (~music).nonzero()[:, 0]
    assert (data.kinds[scenes].sum(1) >= 1).all()
    assert all(data.kinds[i, data.first[i]] == 1 and data.kinds[i, data.last[i]] == 1 for i in scenes.tolist())
    # a caption's first kind is named in it (every style names each kind it asks for)
    from audiox.synth.captions import phrases

    named = 0
    for i in scenes.tolist():
        kind = EVENT_KINDS[int(data.first[i])]
        text = data.captions[i].lower()
        named += any(w in text for w in (kind, phrases(kind).noun, phrases(kind).plural, phrases(kind).gerund.split()[-1]))
    assert named >= 0.9 * len(scenes)
    assert caption_corpus(5, seed=3).captions == caption_corpus(5, seed=3).captions


def test_pretraining_lowers_the_loss_and_leaves_a_frozen_encoder():
    encoder = _tiny_encoder()
    before = [p.clone() for p in encoder.model.parameters()]
    log = pretrain_caption_encoder(encoder, steps=60, batch=32, lr=3e-3, corpus=600, seed=0, max_length=64)
    assert len(log) == 60 and sum(log[-10:]) / 10 < 0.9 * sum(log[:10]) / 10
    assert not encoder.model.training and not any(p.requires_grad for p in encoder.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, encoder.model.parameters()))
    pooled = pooled_states(encoder, ["a knock", "two bells then rain"], 64)
    assert pooled.shape == (2, 32) and torch.isfinite(pooled).all()
    assert 0.0 <= kind_readout(encoder, n=200, max_length=64) <= 1.0


def test_recipe_stage_saves_the_encoder_and_a_rerun_loads_it(tmp_path):
    from audiox.synth.own_training import OwnRecipe, pretrained_caption_encoder
    from audiox.synth.training_data import build_own_model
    from audiox.synth.training_data import text_conditioner as text_model

    recipe = OwnRecipe(caption_pretrain_steps=3)
    first, _ = build_own_model("mmdit", seed=0)
    untouched = {k: v.clone() for k, v in text_model(first).text_encoder.model.state_dict().items()}
    out = pretrained_caption_encoder(first, recipe, tmp_path / "caption_encoder", quiet=True)
    trained = text_model(first).text_encoder.model.state_dict()
    assert (out / "config.json").is_file() and (out / "pretraining.json").is_file()
    assert any(not torch.equal(trained[k], untouched[k]) for k in untouched)
    second, _ = build_own_model("mmdit", seed=0)
    pretrained_caption_encoder(second, recipe, out, quiet=True)  # found: loaded, not trained again
    assert all(torch.equal(v, trained[k]) for k, v in text_model(second).text_encoder.model.state_dict().items())
