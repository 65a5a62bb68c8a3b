"""Config reading: official configs parse strictly, unknown/missing fields fail with the dotted path."""

from __future__ import annotations

import json

import pytest

from audiox.config import schema
from audiox.config.parse import config_to_dict, load_config, parse_config, parse_section
from audiox.config.presets import official_config_path
from audiox.errors import ConfigError


def _minimal() -> dict:
    return {
        "model_type": "diffusion_cond",
        "sample_size": 4096,
        "sample_rate": 44100,
        "model": {"io_channels": 8, "diffusion": {"type": "dit", "config": {"io_channels": 8}}},
    }


@pytest.mark.parametrize("name", ["audiox_turbo_infer_4step", "audiox_v1"])
def test_official_configs_parse_strictly(name):
    cfg = load_config(official_config_path(name))
    assert cfg.sample_rate == 44100
    assert cfg.latent_length == 236
    assert cfg.model.pretransform.config.downsampling_ratio == 2048
    ids = [c.id for c in cfg.model.conditioning.configs]
    assert ids == ["video_prompt", "text_prompt", "audio_prompt"]


def test_turbo_config_values():
    cfg = load_config(official_config_path("audiox_turbo_infer_4step"))
    d = cfg.model.diffusion
    assert (d.type, d.gate, d.diffusion_objective) == ("mmdit", True, "rectified_flow")
    assert (d.gate_type_config.num_heads, d.gate_type_config.num_fusion_layers) == (24, 8)
    audio = cfg.model.conditioning.configs[2]
    assert schema.audio_conditioner_variant(audio) == "v2"
    assert audio.config.latent_seq_len == 215


def test_v1_config_selects_v1_audio_conditioner():
    cfg = load_config(official_config_path("audiox_v1"))
    assert schema.audio_conditioner_variant(cfg.model.conditioning.configs[2]) == "v1"
    assert cfg.model.diffusion.diffusion_objective == "v"


def test_defaults_are_the_official_code_defaults():
    maf = schema.MafConfig()
    assert (maf.num_experts_per_modality, maf.num_heads, maf.num_fusion_layers) == (64, 12, 4)
    bb = schema.BackboneConfig()
    assert (bb.io_channels, bb.embed_dim, bb.depth, bb.num_heads, bb.latent_seq_len) == (32, 768, 12, 8, 237)
    assert bb.project_cond_tokens is True
    t5 = schema.T5ConditionerConfig()
    assert (t5.t5_model_name, t5.max_length) == ("t5-base", 128)
    assert schema.DiffusionConfig(type="dit", config=bb).diffusion_objective == "v"


def test_latent_seq_len_alias_round_trips():
    data = _minimal()
    data["model"]["diffusion"]["config"]["_latent_seq_len"] = 21
    cfg = parse_config(data)
    assert cfg.model.diffusion.config.latent_seq_len == 21
    assert config_to_dict(cfg)["model"]["diffusion"]["config"]["_latent_seq_len"] == 21


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["model"]["diffusion"]["config"].update(depht=2), "model.diffusion.config.depht: unknown field (did you mean 'depth'?)"),
        (lambda d: d.pop("sample_rate"), "sample_rate: missing required field"),
        (lambda d: d["model"]["diffusion"].update(type="unet"), "model.diffusion.type: 'unet' is not supported"),
        (lambda d: d["model"]["diffusion"]["config"].update(depth="2"), "model.diffusion.config.depth: expected int, got str"),
        (lambda d: d["model"].update(conditioning={"cond_dim": 8, "configs": [{"id": "x", "type": "clap", "config": {}}]}),
         "conditioner type 'clap' is not supported"),
        (lambda d: d["model"]["diffusion"]["config"].update(embed_dim=True), "expected int, got bool"),
    ],
)
def test_bad_configs_name_the_field(mutate, message):
    data = _minimal()
    mutate(data)
    with pytest.raises(ConfigError, match=None) as info:
        parse_config(data, source="config.json")
    assert message in str(info.value)
    assert str(info.value).startswith("config.json: ")
    assert "\n" not in str(info.value)


def test_input_dict_is_not_mutated():
    data = _minimal()
    before = json.dumps(data, sort_keys=True)
    parse_config(data)
    assert json.dumps(data, sort_keys=True) == before


def test_non_strict_ignores_harness_notes():
    section = {"configs": [], "cond_dim": 48, "_note": "harness"}
    with pytest.raises(ConfigError):
        parse_section(schema.ConditioningConfig, section, path="model.conditioning")
    assert parse_section(schema.ConditioningConfig, section, strict=False).cond_dim == 48


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.json")
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(tmp_path)
