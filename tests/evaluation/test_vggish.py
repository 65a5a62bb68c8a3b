"""VGGish: the published (torchvggish) key set, the front end against the analyser's HTK mel filters,
strict loading of a file in the published layout, and the FAD frames it gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiox.errors import CheckpointError
from audiox.evaluation.embedders import load_embedder
from audiox.evaluation.embedders.vggish import VGGish, vggish_examples, vggish_mel_matrix
from audiox.evaluation.onsets import mel_filterbank

PUBLISHED = {  # vggish-10086976.pth, written out independently: conv layers by Sequential index, then fcs
    "features.0": (64, 1), "features.3": (128, 64), "features.6": (256, 128), "features.8": (256, 256),
    "features.11": (512, 256), "features.13": (512, 512),
}


def test_key_set_and_shapes():
    with torch.device("meta"):
        model = VGGish()
    expected = {}
    for name, (cout, cin) in PUBLISHED.items():
        expected |= {f"{name}.weight": (cout, cin, 3, 3), f"{name}.bias": (cout,)}
    for name, (cout, cin) in {"embeddings.0": (4096, 12288), "embeddings.2": (4096, 4096),
                              "embeddings.4": (128, 4096)}.items():
        expected |= {f"{name}.weight": (cout, cin), f"{name}.bias": (cout,)}
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == expected
    assert not isinstance(model.embeddings[-1], torch.nn.ReLU)  # fadtk: no final ReLU


def test_mel_matrix_is_htk_125_7500_without_dc():
    ours = vggish_mel_matrix()  # (257, 64)
    mel = 1127.0 * np.log(1.0 + np.linspace(0, 8000, 257) / 700.0)
    edges = np.linspace(1127.0 * np.log(1 + 125 / 700), 1127.0 * np.log(1 + 7500 / 700), 66)
    for i in range(64):  # triangles in the mel domain, one band at a time (mel_features' loop)
        rise = (mel - edges[i]) / (edges[i + 1] - edges[i])
        fall = (edges[i + 2] - mel) / (edges[i + 2] - edges[i + 1])
        expected = np.maximum(0.0, np.minimum(rise, fall))
        expected[0] = 0.0
        np.testing.assert_allclose(ours[:, i], expected, atol=1e-12)
    # close to the analyser's HTK filters (triangles in Hz there, so not equal)
    np.testing.assert_allclose(ours[1:], mel_filterbank(16000, 512, 64, 125.0, 7500.0).T[1:], atol=0.01)


def test_examples_framing():
    rng = np.random.default_rng(0)
    examples = vggish_examples(0.1 * rng.standard_normal(48000))  # 3 s: 298 frames -> 3 examples
    assert examples.shape == (3, 96, 64) and examples.dtype == np.float32
    assert vggish_examples(np.zeros(4000)).shape == (1, 96, 64)  # short: padded to one example
    assert np.allclose(vggish_examples(np.zeros(16000)), np.log(0.01))
    tone = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    band = vggish_examples(tone)[0].mean(axis=0).argmax()
    assert abs(vggish_mel_matrix()[:, band].argmax() * 16000 / 512 - 1000) < 100  # the band that holds 1 kHz


def test_missing_weights_name_the_file():
    with pytest.raises(CheckpointError, match=r"vggish-10086976\.pth.*torchvggish"):
        load_embedder("vggish", None)


@pytest.mark.slow
def test_published_layout_file_loads_and_embeds(tmp_path):
    model = VGGish()
    path = tmp_path / "vggish-10086976.pth"
    torch.save(model.state_dict(), path)
    embedder = load_embedder("vggish", path)
    audio = torch.randn(40000) * 0.1  # 2.5 s -> 2 examples
    frames = embedder.embed(audio)["frames"]
    assert frames.shape == (2, 128)
    direct = model.eval()(torch.from_numpy(vggish_examples(audio.double().numpy()))[:, None])
    np.testing.assert_allclose(frames, direct.double().detach().numpy(), rtol=1e-5, atol=1e-6)
    assert frames.min() < 0  # no final ReLU
    state = model.state_dict()
    state["embeddings.5.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=r"1 unexpected.*embeddings\.5\.weight"):
        load_embedder("vggish", tmp_path / "bad.pth")
