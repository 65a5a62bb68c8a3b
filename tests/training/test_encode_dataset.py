"""Offline pre-encoding: shards + index, and the cached features equal the encoders' outputs."""

from __future__ import annotations

import pytest
import torch

from audiox.errors import ConfigError, InputError
from audiox.training.config import DataSection, TrainConfig
from audiox.training.encode_dataset import encode_dataset, load_cached_item, read_cache_index
from audiox.training.fit import build_training_model, manifest_dataset
from tests.training.tiny_data import write_tiny_dataset


@pytest.fixture(scope="module")
def built():
    return build_training_model(model_config="tiny-dit")


def test_cache_holds_every_item_and_matches_the_encoders(tmp_path, built):
    manifest = write_tiny_dataset(tmp_path / "data", num_items=3)
    cfg = TrainConfig(data=DataSection(random_crop=False, random_sign_flip=False))
    dataset = manifest_dataset(built.model, cfg, manifest)
    index_path = encode_dataset(built.model, dataset, tmp_path / "cache", batch_size=2, shard_size=2)
    index = read_cache_index(tmp_path / "cache")
    assert index_path.name == "index.json" and index["num_items"] == 3
    assert index["shards"] == ["shard_00000.safetensors", "shard_00001.safetensors"]
    item = load_cached_item(tmp_path / "cache", 2)
    example = dataset[2]
    mean, std = built.model.pretransform.encode_distribution(example["audio"][None])
    torch.testing.assert_close(item["latent_mean"], mean[0])
    torch.testing.assert_close(item["latent_std"], std[0])
    hidden, mask = built.model.conditioner.conditioners["text_prompt"].encode_text([example["text_prompt"]])
    torch.testing.assert_close(item["text_hidden"], hidden[0])
    assert torch.equal(item["text_mask"], mask[0])
    assert item["prompt_mean"].shape[0] == built.model.pretransform.latent_dim
    assert "clip_hidden" not in item and item["text_prompt"] == example["text_prompt"]


def test_cache_refuses_random_windows_and_bad_items(tmp_path, built):
    manifest = write_tiny_dataset(tmp_path / "data", num_items=1)
    with pytest.raises(ConfigError, match="random_crop=False"):
        encode_dataset(built.model, manifest_dataset(built.model, TrainConfig(), manifest), tmp_path / "c")
    with pytest.raises(InputError, match="encode-dataset"):
        read_cache_index(tmp_path / "nothing")


@pytest.mark.parametrize("silent_rows", [(0, 2), (0, 1, 2), ()])
def test_silent_prompts_share_one_encode_with_the_same_result(built, silent_rows):
    from audiox.training.encode_dataset import encode_prompts, prompt_conditioner

    pretransform = prompt_conditioner(built.model).pretransform
    prompt = torch.randn(3, pretransform.io_channels, 4 * pretransform.downsampling_ratio, generator=torch.Generator().manual_seed(0))
    prompt[list(silent_rows)] = 0.0
    silent = torch.tensor([i in silent_rows for i in range(3)])
    calls = []
    original = pretransform.encode_distribution
    pretransform.encode_distribution = lambda audio: calls.append(audio.shape[0]) or original(audio)
    try:
        mean, std = encode_prompts(pretransform, prompt, silent)
    finally:
        del pretransform.encode_distribution
    expected = [original(prompt[i : i + 1]) for i in range(3)]
    torch.testing.assert_close(mean, torch.cat([m for m, _ in expected]))
    torch.testing.assert_close(std, torch.cat([s for _, s in expected]))
    assert sum(calls) == 3 - len(silent_rows) + (1 if silent_rows else 0)
