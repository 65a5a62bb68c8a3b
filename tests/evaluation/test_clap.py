"""LAION-CLAP through transformers' ClapModel: a tiny random model saved in the Hugging Face folder
layout, loaded strictly and offline, and the CLAP score end to end through `audiox eval`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
import transformers
from safetensors.torch import load_file, save_file

from audiox.cli.main import main
from audiox.errors import CheckpointError
from audiox.evaluation.embedders import load_embedder
from audiox.evaluation.metrics.clap_score import cosine_rows

RATE = 8000


@pytest.fixture(scope="module")
def clap_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clap")
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    vocab |= {c: 5 + i for i, c in enumerate("abcdefghijklmnopqrstuvwxyzĠ")}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = transformers.RobertaTokenizer(
        vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt")
    )
    config = transformers.ClapConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 37,
            "max_position_embeddings": 64,
        },
        audio_config={
            "depths": [1, 1],
            "num_attention_heads": [2, 2],
            "hidden_size": 32,
            "patch_embeds_hidden_size": 16,
            "window_size": 4,
            "spec_size": 64,
            "num_mel_bins": 16,
            "patch_size": 4,
            "patch_stride": (4, 4),
            "enable_fusion": False,
        },
        projection_dim=16,
    )
    torch.manual_seed(0)
    transformers.ClapModel(config).save_pretrained(folder)
    extractor = transformers.ClapFeatureExtractor(
        feature_size=16,
        sampling_rate=RATE,
        hop_length=80,
        max_length_s=2,
        fft_window_size=256,
        truncation="rand_trunc",
    )
    transformers.ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def test_loads_strictly_and_embeds(clap_folder):
    embedder = load_embedder("clap", clap_folder)
    assert embedder.info.sample_rate == RATE and len(embedder.info.sha256) == 64
    audio = torch.randn(3 * RATE) * 0.1  # longer than 2 s: the first 2 s, deterministically
    first, again = embedder.embed(audio)["audio"], embedder.embed(audio)["audio"]
    assert first.shape == (16,) and np.allclose(first, again) and np.linalg.norm(first) == pytest.approx(1.0)
    np.testing.assert_allclose(embedder.embed(audio[: 2 * RATE])["audio"], first, atol=1e-6)
    text = embedder.embed_text(["a dog", "two bells then a knock"])
    assert text.shape == (2, 16) and np.allclose(np.linalg.norm(text, axis=1), 1.0)


def test_missing_or_partial_weights(clap_folder, tmp_path):
    with pytest.raises(CheckpointError, match=r"clap-htsat-unfused"):
        load_embedder("clap", None)
    partial = tmp_path / "partial"
    partial.mkdir()
    for p in clap_folder.iterdir():
        (partial / p.name).write_bytes(p.read_bytes())
    state = load_file(partial / "model.safetensors")
    dropped = min(k for k in state if "audio_projection" in k)
    save_file({k: v for k, v in state.items() if k != dropped}, partial / "model.safetensors")
    with pytest.raises(CheckpointError, match=rf"1 missing.*{dropped}"):
        load_embedder("clap", partial)


def test_clap_score_through_the_cli(clap_folder, tmp_path, capsys):
    gen = tmp_path / "gen"
    gen.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        sf.write(gen / f"{name}.wav", 0.1 * rng.standard_normal(RATE), RATE)
    captions = {"a": "a dog barks", "b": "two bells", "c": "rain"}
    (tmp_path / "c.json").write_text(json.dumps(captions))
    code = main(
        [
            "eval",
            "--quiet",
            "--gen",
            str(gen),
            "--metrics",
            "clap",
            "--embedder",
            f"clap={clap_folder}",
            "--captions",
            str(tmp_path / "c.json"),
            "--no-cache",
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    value = json.loads((tmp_path / "r.json").read_text())["metrics"]["clap"]["value"]
    embedder = load_embedder("clap", clap_folder)
    audio = np.stack(
        [
            embedder.embed(torch.from_numpy(sf.read(gen / f"{n}.wav", dtype="float32")[0]))["audio"]
            for n in captions
        ]
    )
    expected = cosine_rows(embedder.embed_text(list(captions.values())), audio).mean()
    assert value == pytest.approx(expected, rel=1e-6)
    (tmp_path / "c.json").write_text(json.dumps({"a": "x"}))
    code = main(
        [
            "eval",
            "--quiet",
            "--gen",
            str(gen),
            "--metrics",
            "clap",
            "--embedder",
            f"clap={clap_folder}",
            "--captions",
            str(tmp_path / "c.json"),
            "--no-cache",
        ]
    )
    assert code == 2 and "no caption for 2 file(s): b, c" in capsys.readouterr().err
