"""The own small model's config: strict parse, build, weight budget, a short generation, folder round trip."""

from __future__ import annotations

import pytest
import torch

from audiox.config.own_model import (
    MAX_WEIGHT_BYTES,
    OWN_CHANNELS,
    OWN_SAMPLE_RATE,
    OWN_STORAGE_DTYPE,
    own_latent_frames,
    own_model_options,
    own_small_config,
    own_small_config_dict,
)
from audiox.config.parse import config_to_dict, parse_config
from audiox.diffusion.model import num_parameters
from audiox.errors import ConfigError
from audiox.pipeline import AudioX
from audiox.pipeline.load import load_pipeline, save_pipeline
from audiox.synth.training_data import build_own_model, copy_vae_encoder, to_storage_dtype


@pytest.fixture(scope="module", params=["dit", "mmdit"])
def own(request):
    model, options = build_own_model(request.param)
    return AudioX(model), options


@pytest.mark.parametrize("backbone", ["dit", "mmdit"])
def test_config_parses_strictly_and_round_trips(backbone):
    cfg = own_small_config(backbone)
    assert cfg.sample_rate == OWN_SAMPLE_RATE and cfg.audio_channels == OWN_CHANNELS
    assert parse_config(config_to_dict(cfg), source="round trip") == cfg
    assert cfg.model.diffusion.type == backbone


def test_vae_compression_and_window():
    cfg = own_small_config()
    vae = cfg.model.pretransform.config
    assert vae.downsampling_ratio >= 64  # time downsampling
    assert 16 <= vae.downsampling_ratio * cfg.audio_channels / vae.latent_dim <= 64  # samples per latent number
    assert cfg.sample_size == 10 * cfg.sample_rate and cfg.sample_size % vae.downsampling_ratio == 0
    audio = next(c for c in cfg.model.conditioning.configs if c.id == "audio_prompt").config
    assert audio.latent_seq_len == own_latent_frames() == cfg.latent_length


def test_unknown_backbone_is_a_config_error():
    with pytest.raises(ConfigError, match="backbone"):
        own_small_config_dict("unet")


def test_audiox_json_options_are_json_and_complete():
    options = own_model_options()
    assert set(options) == {"vision_config", "temporal_sizes", "text_encoder_dtype"}
    assert options["text_encoder_dtype"] == "float32"
    assert options["vision_config"]["hidden_size"] == own_small_config_dict()["model"]["conditioning"]["cond_dim"]


def test_weights_fit_the_budget(own):
    pipe, _ = own
    text_encoder = pipe.model.conditioner.conditioners["text_prompt"].text_encoder
    params = num_parameters(pipe.model) + num_parameters(text_encoder.model)
    bytes_per = torch.empty((), dtype=getattr(torch, OWN_STORAGE_DTYPE)).element_size()
    assert params * bytes_per <= MAX_WEIGHT_BYTES


@pytest.mark.slow  # a full 10 s window through the own-size VAE decoder
def test_two_step_generation_has_the_right_length(own):
    pipe, _ = own
    out = pipe.generate("two knocks then a bell", steps=2, cfg_scale=1.0, duration_s=10.0)
    assert out.audio.shape == (1, OWN_CHANNELS, 10 * OWN_SAMPLE_RATE) and out.sample_rate == OWN_SAMPLE_RATE
    assert torch.isfinite(out.audio).all()
    short = pipe.generate("a bell", steps=1, cfg_scale=1.0, duration_s=2.5, seed=3)
    assert short.audio.shape[-1] == round(2.5 * OWN_SAMPLE_RATE)


@pytest.mark.slow
def test_saved_folder_in_storage_dtype_loads_and_fits(own, tmp_path):
    pipe, options = own
    folder = save_pipeline(pipe, tmp_path / "own", options=options)
    to_storage_dtype(str(folder), getattr(torch, OWN_STORAGE_DTYPE))
    assert sum(f.stat().st_size for f in folder.rglob("*.safetensors")) <= MAX_WEIGHT_BYTES
    loaded = load_pipeline(folder)
    a = pipe.generate("a bell", steps=1, cfg_scale=1.0, duration_s=1.0, seed=1).audio
    b = loaded.generate("a bell", steps=1, cfg_scale=1.0, duration_s=1.0, seed=1).audio
    torch.testing.assert_close(a, b, atol=5e-2, rtol=0)  # float16 storage only


def test_copy_vae_encoder_fills_the_prompt_copy(own):
    pipe, _ = own
    model = pipe.model
    assert copy_vae_encoder(model) > 0
    copy = model.conditioner.conditioners["audio_prompt"].pretransform.model.encoder.state_dict()
    for key, value in model.pretransform.model.encoder.state_dict().items():
        assert torch.equal(copy[key], value), key
