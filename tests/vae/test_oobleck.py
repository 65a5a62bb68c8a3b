import json
from dataclasses import replace

import pytest
import torch
from torch import nn

from audiox.config.parse import parse_section
from audiox.config.schema import PretransformConfig
from audiox.errors import ConfigError
from audiox.vae import (
    AudioAutoencoder,
    AutoencoderPretransform,
    OobleckDecoder,
    OobleckEncoder,
    latent_length,
)
from audiox.vae.blocks import EncoderBlock
from audiox.vae.oobleck import decoder_output_length, encoder_output_length
from tests.vae.tiny import tiny_config

FULL_SIZE = ("audiox_turbo_infer_4step.json", "audiox_v1.json")


def _full_size(refvectors, name):
    data = json.loads((refvectors / "full_size_keys" / name).read_text())
    cfg = parse_section(
        PretransformConfig, data["config"]["model"]["pretransform"], path="model.pretransform"
    )
    return cfg, data["keys"]


@pytest.mark.parametrize("name", FULL_SIZE)
def test_full_size_state_dict_matches_official_keys(refvectors, name):
    cfg, official = _full_size(refvectors, name)
    with torch.device("meta"):
        pretransform = AutoencoderPretransform(cfg)
    ours = {"pretransform." + k: list(v.shape) for k, v in pretransform.state_dict().items()}
    expected = {k: v for k, v in official.items() if k.startswith("pretransform.")}
    assert list(ours) == list(expected)  # same keys in the same order
    assert ours == expected


def test_full_size_parameter_counts_and_lengths(refvectors):
    cfg, _ = _full_size(refvectors, FULL_SIZE[0])
    with torch.device("meta"):
        pretransform = AutoencoderPretransform(cfg)
    assert sum(p.numel() for p in pretransform.model.encoder.parameters()) == 77_989_888
    assert sum(p.numel() for p in pretransform.model.decoder.parameters()) == 78_122_626
    assert [pretransform.latent_length(n) for n in (441000, 485100, 483328)] == [215, 236, 236]
    assert pretransform.decoded_length(236) == 483328
    assert (pretransform.downsampling_ratio, pretransform.latent_dim, pretransform.io_channels) == (
        2048,
        64,
        2,
    )


@pytest.mark.parametrize("strides", [(2, 2), (2, 4), (3, 2), (5,), (4, 1, 3)])
def test_length_map_matches_encoder_for_a_grid_of_lengths(strides):
    cfg = tiny_config(strides=strides, c_mults=(1,) * len(strides), channels=2, latent_dim=1)
    model = AudioAutoencoder(cfg.config).eval()
    for n in range(max(strides), 41, 5):
        if encoder_output_length(n, strides) < 1:
            continue  # too short for a later block (checked below and by the pretransform)
        out = model.encode_features(torch.zeros(1, 2, n))
        assert out.shape[-1] == encoder_output_length(n, strides) == latent_length(n, strides), n
    for n in (1, 2, 7):
        assert model.decode(torch.zeros(1, 1, n)).shape[-1] == decoder_output_length(n, strides)


def test_length_map_for_too_short_input_is_zero():
    assert encoder_output_length(1, (2, 2)) == 0
    assert encoder_output_length(3, (2, 2)) == 0
    assert encoder_output_length(4, (2, 2)) == 1


def test_quirk_leading_c_mult_prepended():
    cfg = tiny_config(strides=(2, 4), c_mults=(3, 5), channels=2)
    enc = OobleckEncoder(cfg.config.encoder.config)
    dec = OobleckDecoder(cfg.config.decoder.config)
    widths = [2, 6, 10]  # channels * ([1] + c_mults)
    assert enc.layers[0].weight_v.shape[0] == widths[0]
    blocks = [m for m in enc.layers if isinstance(m, EncoderBlock)]
    assert [b.layers[4].weight_v.shape[:2] for b in blocks] == [(6, 2), (10, 6)]
    assert dec.layers[0].weight_v.shape[0] == widths[-1]
    assert dec.layers[len(cfg.config.decoder.config.strides) + 2].weight_v.shape[1] == widths[0]


def test_decoder_final_layers():
    cfg = tiny_config()
    dec = OobleckDecoder(cfg.config.decoder.config)
    assert isinstance(dec.layers[-1], nn.Identity)
    assert dec.layers[-2].bias is None  # official: last conv has no bias
    tanh = OobleckDecoder(replace(cfg.config.decoder.config, final_tanh=True))
    assert isinstance(tanh.layers[-1], nn.Tanh)


def test_without_snake_there_are_no_activation_params():
    cfg = tiny_config(use_snake=False)
    keys = AudioAutoencoder(cfg.config).state_dict()
    assert not [k for k in keys if k.endswith(("alpha", "beta"))]


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda c: replace(c, latent_dim=5), "latent_dim"),
        (lambda c: replace(c, downsampling_ratio=8), "downsampling_ratio"),
        (
            lambda c: replace(c, encoder=replace(c.encoder, config=replace(c.encoder.config, strides=(2,)))),
            "stride",
        ),
        (
            lambda c: replace(
                c, decoder=replace(c.decoder, config=replace(c.decoder.config, antialias_activation=True))
            ),
            "antialias_activation",
        ),
    ],
)
def test_bad_config_raises_config_error(change, message):
    cfg = tiny_config().config
    with pytest.raises(ConfigError, match=message):
        AudioAutoencoder(change(cfg))


def test_noise_source_starts_silent_is_deterministic_at_inference_and_trains():
    base_cfg = tiny_config().config.decoder.config
    torch.manual_seed(0)
    base = OobleckDecoder(base_cfg).eval()
    noisy = OobleckDecoder(replace(base_cfg, noise_blocks=1)).eval()
    missing, unexpected = noisy.load_state_dict(base.state_dict(), strict=False)
    assert not unexpected and missing and all(".gate." in k for k in missing)  # only the new gates
    z = torch.randn(2, 3, 8)
    with torch.no_grad():
        assert torch.equal(noisy(z), base(z))  # zero gates: exactly the decoder it extends
        for p in noisy.parameters():
            p.add_(0.05)  # open the gates (and move everything else a little)
        first, again = noisy(z), noisy(z)
    assert torch.equal(first, again)  # inference: one fixed noise realisation
    noisy.train()
    out = noisy(z)
    assert not torch.equal(out.detach(), noisy(z).detach())  # training: fresh noise per call
    out.pow(2).mean().backward()
    gates = [p for n, p in noisy.named_parameters() if ".gate." in n]
    assert gates and all(p.grad is not None and p.grad.abs().sum() > 0 for p in gates)
    with pytest.raises(ConfigError, match="noise_blocks"):
        OobleckDecoder(replace(base_cfg, noise_blocks=3))  # only 2 blocks
