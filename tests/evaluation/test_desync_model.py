"""The Synchformer sync classifier: published key set, the AST branch against Hugging Face's ASTModel,
the offset transformer against a direct computation, the log-mel front end against numpy, and the
strict loader (published layout loads bit-exactly; missing, extra or misshapen keys are refused)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from transformers import ASTConfig, ASTModel

from audiox.conditioning.synchformer import Synchformer
from audiox.errors import CheckpointError
from audiox.evaluation.avsync import SyncClassifier
from audiox.evaluation.avsync.ast_audio import AstAudioFeatures
from audiox.evaluation.avsync.audio_frontend import AST_MEAN, AST_STD, audio_segments, log_mel_segments
from audiox.evaluation.avsync.sync_transformer import SyncTransformer
from audiox.evaluation.embedders import synchformer as sync_embedder
from tests.evaluation.desync_helpers import TINY, published_non_visual_keys


def test_full_size_key_set_and_shapes():
    with torch.device("meta"):
        model, visual = SyncClassifier(), Synchformer()
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = {f"vfeat_extractor.{k}": tuple(v.shape) for k, v in visual.state_dict().items()}
    expected |= published_non_visual_keys()
    assert got == expected


def test_ast_branch_matches_hugging_face_ast():
    """Our `ast` with HF ASTModel's weights (renamed from its current naming to the 4.27 names the published
    file uses) gives HF's last hidden state; HF takes (N, frames, mels), we take (N, mels, frames)."""
    torch.manual_seed(0)
    config = ASTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_length=66,
        num_mel_bins=128,
    )
    hf = ASTModel(config).eval()
    renames = {
        "layers.": "encoder.layer.",
        "attention.q_proj": "attention.attention.query",
        "attention.k_proj": "attention.attention.key",
        "attention.v_proj": "attention.attention.value",
        "attention.o_proj": "attention.output.dense",
        "mlp.fc1": "intermediate.dense",
        "mlp.fc2": "output.dense",
    }
    state = {}
    for key, value in hf.state_dict().items():
        for old, new in renames.items():
            key = key.replace(old, new)
        state[key] = value
    ours = AstAudioFeatures(dim=32, depth=2, num_heads=2).eval()
    ours.ast.load_state_dict(state, strict=True)
    spec = torch.randn(3, 128, 66)
    with torch.no_grad():
        expected = hf(input_values=spec.transpose(1, 2)).last_hidden_state
        got = ours.ast(spec)
        features = ours(spec)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert features.shape == (3, 6, 32)


def _reference_sync_transformer(model: SyncTransformer, visual, audio) -> torch.Tensor:
    """minGPT blocks written out with explicit softmax attention."""

    def attention(block, x):
        heads = model_heads
        q, k, v = (getattr(block.attn, n)(x) for n in ("query", "key", "value"))
        split = [t.view(*t.shape[:2], heads, -1).transpose(1, 2) for t in (q, k, v)]
        weights = torch.softmax(split[0] @ split[1].transpose(-2, -1) / math.sqrt(split[0].shape[-1]), dim=-1)
        return block.attn.proj((weights @ split[2]).transpose(1, 2).reshape(x.shape))

    model_heads = 2
    b = visual.shape[0]
    x = (
        torch.cat(
            [
                model.OFF_tok.expand(b, 1, -1),
                model.vis_in_lnorm(visual),
                model.MOD_tok.expand(b, 1, -1),
                model.aud_in_lnorm(audio),
            ],
            dim=1,
        )
        + model.pos_emb_cfg.pos_emb
    )
    for block in model.blocks:
        x = x + attention(block, block.ln1(x))
        x = x + block.mlp[2](torch.nn.functional.gelu(block.mlp[0](block.ln2(x))))
    return model.off_head(model.ln_f(x)[:, 0])


def test_sync_transformer_matches_direct_computation():
    torch.manual_seed(1)
    model = SyncTransformer(dim=16, depth=2, num_heads=2, num_segments=3).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
        visual, audio = torch.randn(2, 3 * 8, 16), torch.randn(2, 3 * 6, 16)
        got = model(visual, audio)
        expected = _reference_sync_transformer(model, visual, audio)
    assert got.shape == (2, 21)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def _numpy_log_mel(segment: np.ndarray) -> np.ndarray:
    """torchaudio MelSpectrogram(16000, n_fft=1024, win_length=400, hop=160, n_mels=128) -> log -> pad ->
    normalise, written with numpy in float64."""
    window = np.zeros(1024)
    n = np.arange(400)
    window[312:712] = 0.5 - 0.5 * np.cos(2 * np.pi * n / 400)  # periodic Hann, centred in the frame
    padded = np.pad(segment.astype(np.float64), 512, mode="reflect")
    frames = np.stack([padded[i * 160 : i * 160 + 1024] for i in range(len(segment) // 160 + 1)])
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2  # (T, 513)
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    edges = 700 * (10 ** (np.linspace(mel(0), mel(8000), 130) / 2595) - 1)
    freqs = np.linspace(0, 8000, 513)
    filters = np.zeros((513, 128))
    for m in range(128):
        lo, mid, hi = edges[m : m + 3]
        filters[:, m] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    log_mel = np.log(power @ filters + 1e-6).T  # (128, 65)
    log_mel = np.pad(log_mel, ((0, 0), (0, 1)))
    return (log_mel - AST_MEAN) / (2 * AST_STD)


def test_log_mel_front_end_matches_numpy():
    rng = np.random.default_rng(0)
    audio = torch.from_numpy(rng.standard_normal(16000).astype(np.float32) * 0.1)
    segments = audio_segments(audio)
    assert segments.shape == ((16000 - 10240) // 5120 + 1, 10240)
    got = log_mel_segments(segments)
    assert got.shape == (2, 128, 66)
    expected = _numpy_log_mel(segments[1].numpy())
    np.testing.assert_allclose(got[1].double().numpy(), expected, rtol=1e-3, atol=2e-3)
    # the padded 66th frame is log-domain zero, normalised
    assert torch.allclose(got[:, :, -1], torch.tensor(-AST_MEAN / (2 * AST_STD)))


def _tiny_model(seed: int = 0) -> SyncClassifier:
    torch.manual_seed(seed)
    model = SyncClassifier(TINY).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # no all-zero tokens or tables
    return model


def test_tiny_forward_shapes():
    model = _tiny_model()
    with torch.no_grad():
        audio = model.audio_features(torch.randn(14, 128, 66))
        video = model.video_features(torch.rand(14, 16, 3, 32, 32) * 2 - 1)
        logits = model.compare(video[None].expand(2, -1, -1, -1), audio[None].expand(2, -1, -1, -1))
    assert audio.shape == (14, 6, 32) and video.shape == (14, 8, 32) and logits.shape == (2, 21)
    assert torch.isfinite(logits).all() and not torch.allclose(logits[0], torch.zeros(21))


@pytest.fixture
def tiny_size(monkeypatch):
    monkeypatch.setattr(sync_embedder, "MODEL_SIZE", TINY)


@pytest.mark.parametrize("wrap", [False, True], ids=["state_dict_pth", "training_ckpt_model"])
def test_strict_load_of_published_layout(tmp_path, tiny_size, wrap):
    source = _tiny_model(3)
    state = source.state_dict()
    path = tmp_path / "synchformer_state_dict.pth"
    torch.save({"model": state, "epoch": 3} if wrap else state, path)
    loaded = sync_embedder.load_synchformer(path).model
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, state[key]), key
    spec = torch.randn(2, 128, 66)
    with torch.no_grad():
        assert torch.equal(loaded.audio_features(spec), source.audio_features(spec))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.pop("transformer.off_head.weight"), "transformer.off_head.weight"),
        (lambda s: s.update({"afeat_extractor.classifier.dense.weight": torch.zeros(3, 3)}), "classifier"),
        (lambda s: s.update({"transformer.pos_emb_cfg.pos_emb": torch.zeros(1, 100, 32)}), "pos_emb"),
        (lambda s: [s.pop(k) for k in list(s) if k.startswith("afeat_extractor.")], "afeat_extractor"),
    ],
    ids=["missing", "unexpected", "shape", "visual_branch_only"],
)
def test_mismatched_checkpoint_is_refused(tmp_path, tiny_size, edit, message):
    state = _tiny_model().state_dict()
    edit(state)
    path = tmp_path / "synchformer_state_dict.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=message) as info:
        sync_embedder.load_synchformer(path)
    assert "synchformer_state_dict.pth" in str(info.value) and "\n" not in str(info.value)


def test_missing_weights_name_the_file_and_where_it_is_published(tmp_path):
    with pytest.raises(CheckpointError, match="synchformer_state_dict.pth.*MMAudio/releases"):
        sync_embedder.load_synchformer(None)
    with pytest.raises(CheckpointError, match="not found.*synchformer_state_dict.pth"):
        sync_embedder.load_synchformer(tmp_path / "nope.pth")


def test_full_size_audio_branch_and_classifier_forward():
    """Published sizes end to end except the (already tested) visual branch: 14 log-mel segments -> AST ->
    (14, 6, 768); with (14, 8, 768) visual features -> one window's 21 logits."""
    torch.manual_seed(0)
    with torch.device("meta"):
        model = SyncClassifier()
    model = model.to_empty(device="cpu").eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
        spec = log_mel_segments(audio_segments(torch.randn(16000 * 5) * 0.1))[:14]
        audio = model.audio_features(spec)
        logits = model.compare(torch.randn(1, 14, 8, 768), audio[None])
    assert spec.shape == (14, 128, 66) and audio.shape == (14, 6, 768) and logits.shape == (1, 21)
    assert torch.isfinite(logits).all()
