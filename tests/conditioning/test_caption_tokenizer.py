"""The own caption tokenizer (WordPiece on the synth caption vocabulary) and the small T5 encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, T5EncoderModel

from audiox.conditioning.caption_tokenizer import (
    caption_corpus,
    own_text_encoder,
    small_t5,
    train_caption_tokenizer,
)
from audiox.conditioning.text_t5 import load_t5_text_encoder
from audiox.synth.captions import caption_styles, compose_caption
from audiox.synth.dataset import SynthConfig, sample_labels


@pytest.fixture(scope="module")
def tokenizer():
    return train_caption_tokenizer()


def unseen_captions(seed: int = 97, items: int = 300) -> list[str]:
    """Captions of a world seed the corpus never saw, every style."""
    cfg = SynthConfig(seed=seed, length=items)
    out = []
    for index in range(items):
        labels = sample_labels(cfg, index)
        for style in caption_styles(labels):
            out.append(compose_caption(labels, np.random.default_rng([seed, index, 1]), style=style))
    return out


def test_t5_special_ids_and_eos(tokenizer):
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 1, 2)
    ids = tokenizer("Two knocks then a bell")["input_ids"]
    assert ids[-1] == 1 and 2 not in ids
    batch = tokenizer(["a bell"], padding="max_length", max_length=8, truncation=True, return_tensors="pt")
    assert batch["input_ids"][0, 3:].eq(0).all() and batch["attention_mask"][0].tolist() == [1, 1, 1] + [0] * 5


def test_every_synth_caption_word_is_one_token(tokenizer):
    backend = tokenizer.backend_tokenizer
    vocab = tokenizer.get_vocab()
    missing = set()
    for caption in unseen_captions() + ["Generate general audio for the video", "Generate music for the video"]:
        normalized = backend.normalizer.normalize_str(caption)
        missing |= {word for word, _ in backend.pre_tokenizer.pre_tokenize_str(normalized) if word not in vocab}
    assert not missing


def test_unknown_words_fall_back_to_pieces_not_unk(tokenizer):
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("zyxwv")["input_ids"])
    assert "<unk>" not in tokens and tokens[-1] == "</s>" and len(tokens) > 2


def test_numbers_are_split_into_digits(tokenizer):
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("between 12.5s and 137 BPM")["input_ids"])
    assert tokens == ["between", "1", "2", ".", "5", "s", "and", "1", "3", "7", "bpm", "</s>"]


def test_training_is_deterministic():
    lines = list(caption_corpus(items=50, seeds=(3,)))
    assert train_caption_tokenizer(lines).get_vocab() == train_caption_tokenizer(lines).get_vocab()


def test_round_trip_offline(tokenizer, tmp_path):
    model = small_t5(tokenizer, d_model=32, num_layers=1, num_heads=2, d_ff=64)
    tokenizer.save_pretrained(tmp_path)
    model.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    texts = ["Someone knocks twice, then a bell rings once.", "A fast pop song in F# minor at 132 BPM."]
    assert loaded(texts)["input_ids"] == tokenizer(texts)["input_ids"]
    again = T5EncoderModel.from_pretrained(tmp_path, local_files_only=True)
    encoded = loaded(texts, padding="max_length", max_length=24, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(again(**encoded).last_hidden_state, model(**encoded).last_hidden_state)
    encoder = load_t5_text_encoder(tmp_path)  # the pipeline's offline loader
    assert encoder.model.config.d_model == 32 and len(encoder.tokenizer) == len(tokenizer)


def test_small_t5_is_seeded_and_leaves_global_rng_alone(tokenizer):
    state = torch.random.get_rng_state()
    a = small_t5(tokenizer, d_model=32, num_layers=1, num_heads=2, d_ff=64, generator=torch.Generator().manual_seed(4))
    b = small_t5(tokenizer, d_model=32, num_layers=1, num_heads=2, d_ff=64, generator=torch.Generator().manual_seed(4))
    assert torch.equal(torch.random.get_rng_state(), state)
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(p, q), name
    assert a.config.vocab_size == len(tokenizer) and a.shared.weight is a.encoder.embed_tokens.weight


def test_own_text_encoder_outputs_width():
    encoder = own_text_encoder(d_model=32, num_layers=1, num_heads=2, d_ff=64, max_length=16)
    ids = encoder.tokenizer(["two knocks then a bell"], padding="max_length", max_length=16, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder.model(**ids).last_hidden_state
    assert hidden.shape == (1, 16, 32) and torch.isfinite(hidden).all()
