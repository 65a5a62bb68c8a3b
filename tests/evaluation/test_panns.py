"""PANNs CNN14: the published key set and shapes, the torchlibrosa-style front end against torch.stft,
strict loading of a state dict in the published layout, and the embedder's outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiox.checkpoints.load import load_into
from audiox.errors import CheckpointError
from audiox.evaluation.embedders import load_embedder
from audiox.evaluation.embedders.log_mel import hz_to_mel_slaney, mel_to_hz_slaney, slaney_mel_filters
from audiox.evaluation.embedders.panns import PANNS_VARIANTS, Cnn14

V16 = PANNS_VARIANTS[512]


def _published_keys(bins: int, channels=(1, 64, 128, 256, 512, 1024, 2048), mels: int = 64) -> dict:
    """The key -> shape table of Cnn14_16k_mAP=0.438.pth's `model` dict, written out independently."""
    def bn(c: int) -> dict:
        shapes = {"weight": (c,), "bias": (c,), "running_mean": (c,), "running_var": (c,)}
        return shapes | {"num_batches_tracked": ()}

    keys = {"spectrogram_extractor.stft.conv_real.weight": (bins, 1, 2 * (bins - 1)),
            "spectrogram_extractor.stft.conv_imag.weight": (bins, 1, 2 * (bins - 1)),
            "logmel_extractor.melW": (bins, mels)}
    keys |= {f"bn0.{k}": s for k, s in bn(mels).items()}
    for i in range(6):
        cin, cout = channels[i], channels[i + 1]
        keys[f"conv_block{i + 1}.conv1.weight"] = (cout, cin, 3, 3)
        keys[f"conv_block{i + 1}.conv2.weight"] = (cout, cout, 3, 3)
        for b in ("bn1", "bn2"):
            keys |= {f"conv_block{i + 1}.{b}.{k}": s for k, s in bn(cout).items()}
    keys |= {"fc1.weight": (channels[-1], channels[-1]), "fc1.bias": (channels[-1],),
             "fc_audioset.weight": (527, channels[-1]), "fc_audioset.bias": (527,)}
    return keys


@pytest.mark.parametrize("n_fft", [512, 1024])
def test_full_size_key_set_and_shapes(n_fft):
    with torch.device("meta"):
        model = Cnn14(PANNS_VARIANTS[n_fft])
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert got == _published_keys(n_fft // 2 + 1)
    assert sum(v.numel() for k, v in model.named_parameters() if "extractor" not in k) == 80_753_615


def test_front_end_matches_torch_stft():
    model = Cnn14(V16, channels=(1, 2, 2, 2, 2, 2, 4))
    audio = torch.randn(2, 8000, dtype=torch.float32)
    power = model.spectrogram_extractor(audio)  # (B, 1, T, F)
    spec = torch.stft(audio.double(), 512, hop_length=160, window=torch.hann_window(512, dtype=torch.float64),
                      center=True, pad_mode="reflect", return_complex=True)  # (B, F, T)
    expected = spec.abs().pow(2).transpose(1, 2)[:, None]
    assert power.shape == expected.shape == (2, 1, 8000 // 160 + 1, 257)
    torch.testing.assert_close(power.double(), expected, rtol=1e-3, atol=1e-3)


def test_slaney_mel_filters():
    assert hz_to_mel_slaney(1000.0) == pytest.approx(15.0)
    hz = np.array([50.0, 700.0, 1000.0, 4000.0, 8000.0])
    np.testing.assert_allclose(mel_to_hz_slaney(hz_to_mel_slaney(hz)), hz, rtol=1e-12)
    filters = slaney_mel_filters(16000, 512, 64, 50.0, 8000.0)  # (M, F)
    assert filters.shape == (64, 257) and filters.min() == 0.0
    df = 16000 / 512
    areas = filters.sum(axis=1) * df  # slaney normalisation: each triangle has unit area in Hz
    np.testing.assert_allclose(areas[24:], 1.0, rtol=0.05)  # wide filters; narrow ones are sampled coarsely
    assert abs(areas.mean() - 1.0) < 0.03
    assert np.all(np.diff(filters.argmax(axis=1)) >= 0)


def test_strict_load_and_forward_small():
    small = (1, 4, 4, 8, 8, 8, 16)
    source = Cnn14(V16, channels=small)
    for p in source.parameters():
        torch.nn.init.normal_(p, std=0.1)
    state = {k: v.clone() for k, v in source.state_dict().items()}
    target = Cnn14(V16, channels=small).eval()
    load_into(target, state, config_name="PANNs CNN14 test", source="test.pth")
    audio = torch.randn(1, 32000)
    out = target(audio)
    assert out["clip"].shape == (1, 16) and out["logits"].shape == (1, 527)
    assert torch.equal(out["logits"], source.eval()(audio)["logits"])
    assert torch.all(out["clip"] >= 0)  # after the ReLU
    state["fc.weight"] = state.pop("fc1.weight")
    with pytest.raises(CheckpointError, match=r"1 missing, 1 unexpected.*fc1\.weight"):
        load_into(Cnn14(V16, channels=small), state, config_name="PANNs CNN14 test", source="test.pth")


def test_missing_weights_name_the_file():
    with pytest.raises(CheckpointError, match=r"Cnn14_16k_mAP=0.438.pth.*zenodo"):
        load_embedder("panns", None)


@pytest.mark.slow
def test_published_layout_file_loads(tmp_path):
    """A full-size state dict in the published container ({"model": ..., "iteration": ...}) loads, embeds."""
    model = Cnn14(V16)
    torch.nn.init.normal_(model.fc_audioset.weight, std=0.01)
    path = tmp_path / "Cnn14_16k_mAP=0.438.pth"
    torch.save({"model": model.state_dict(), "iteration": 10}, path)
    embedder = load_embedder("panns", path)
    assert embedder.info.sample_rate == 16000 and embedder.info.mono == "first"
    out = embedder.embed(torch.randn(16000) * 0.1)  # 1 s: padded to 2 s
    assert out["clip"].shape == (2048,) and out["logits"].shape == (527,)
    bad = {k: v for k, v in model.state_dict().items() if k != "bn0.running_var"}
    torch.save({"model": bad}, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=r"1 missing.*bn0\.running_var"):
        load_embedder("panns", tmp_path / "bad.pth")
