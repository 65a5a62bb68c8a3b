import pytest
import torch

from audiox.errors import ConfigError, InputError
from audiox.vae import bottleneck
from audiox.vae.pretransform import AutoencoderPretransform, chunk_windows
from tests.vae.tiny import randomize_, tiny_config, tiny_pretransform


def test_state_dict_keys_are_model_encoder_decoder():
    keys = list(tiny_pretransform().state_dict())
    assert keys[0] == "model.encoder.layers.0.bias"
    assert all(k.startswith(("model.encoder.layers.", "model.decoder.layers.")) for k in keys)
    assert (
        "model.decoder.layers.4.weight_v" in keys and "model.decoder.layers.4.bias" not in keys
    )  # last conv


def test_shapes_and_properties():
    pt = tiny_pretransform()
    assert (pt.downsampling_ratio, pt.latent_dim, pt.io_channels) == (4, 3, 2)
    audio = torch.randn(2, 2, 40)
    latents = pt.encode(audio, generator=torch.Generator().manual_seed(0))
    assert latents.shape == (2, 3, 10)
    assert pt.decode(latents).shape == (2, 2, 40)
    mean, std = pt.encode_distribution(audio)
    assert mean.shape == std.shape == (2, 3, 10)


def test_encode_with_noise_is_mean_plus_std_noise():
    pt = tiny_pretransform()
    audio = torch.randn(2, 2, 24)
    mean, std = pt.encode_distribution(audio)
    noise = torch.randn(2, 3, 6)
    torch.testing.assert_close(pt.encode(audio, noise=noise), mean + std * noise)
    assert torch.equal(pt.encode(audio, noise=torch.zeros(2, 3, 6)), mean)


def test_encode_with_generator_is_reproducible_and_matches_its_draw():
    pt = tiny_pretransform()
    audio = torch.randn(1, 2, 24)
    a = pt.encode(audio, generator=torch.Generator().manual_seed(5))
    b = pt.encode(audio, generator=torch.Generator().manual_seed(5))
    noise = torch.randn(1, 3, 6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert torch.equal(a, pt.encode(audio, noise=noise))


def test_scale_divides_latents_and_multiplies_on_decode():
    plain, scaled = tiny_pretransform(seed=1), tiny_pretransform(seed=1, scale=2.0)
    audio, noise = torch.randn(1, 2, 24), torch.randn(1, 3, 6)
    torch.testing.assert_close(scaled.encode(audio, noise=noise), plain.encode(audio, noise=noise) / 2)
    mean_p, std_p = plain.encode_distribution(audio)
    mean_s, std_s = scaled.encode_distribution(audio)
    torch.testing.assert_close((mean_s, std_s), (mean_p / 2, std_p / 2))
    z = torch.randn(1, 3, 5)
    torch.testing.assert_close(scaled.decode(z), plain.decode(2 * z))


def test_iterate_batch_and_batch_of_two_match_single_items():
    batched, per_item = tiny_pretransform(seed=2), tiny_pretransform(seed=2, iterate_batch=True)
    audio, z = torch.randn(2, 2, 32), torch.randn(2, 3, 7)
    close = {"rtol": 1e-4, "atol": 1e-4}  # batched vs per-item convolutions differ at rounding level
    torch.testing.assert_close(per_item.encode_features(audio), batched.encode_features(audio), **close)
    torch.testing.assert_close(per_item.decode(z), batched.decode(z), **close)
    singles = torch.cat([batched.decode(z[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(batched.decode(z), singles, **close)


def test_without_bottleneck_latents_are_encoder_output():
    pt = tiny_pretransform(bottleneck=False)
    audio = torch.randn(1, 2, 16)
    assert torch.equal(pt.encode(audio), pt.model.encode_features(audio))


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda pt: pt.encode(torch.zeros(2, 40), generator=torch.Generator()),
            r"audio.shape=torch.Size\(\[2, 40\]\)",
        ),
        (
            lambda pt: pt.encode(torch.zeros(1, 3, 40), generator=torch.Generator()),
            r"audio.shape=.*expected \(B, 2, S\)",
        ),
        (
            lambda pt: pt.encode_distribution(torch.zeros(1, 2, 3)),
            r"audio.shape=torch.Size\(\[1, 2, 3\]\): too short",
        ),
        (
            lambda pt: pt.encode(torch.zeros(1, 2, 40), noise=torch.zeros(1, 3, 9)),
            r"noise.shape=torch.Size\(\[1, 3, 9\]\)",
        ),
        (lambda pt: pt.encode(torch.zeros(1, 2, 40)), "generator"),
        (lambda pt: pt.decode(torch.zeros(1, 4, 5)), r"latents.shape=torch.Size\(\[1, 4, 5\]\)"),
        (lambda pt: pt.decode(torch.zeros(3, 5)), r"latents.shape=torch.Size\(\[3, 5\]\)"),
        (lambda pt: pt.decode(torch.zeros(1, 3, 0)), r"L >= 1"),
    ],
)
def test_bad_input_raises_input_error_with_shapes(call, message):
    with pytest.raises(InputError, match=message):
        call(tiny_pretransform())


# ----------------------------------------------------------------------------------------- chunking


@pytest.mark.parametrize("total", [1, 128, 129, 200, 224, 300, 1000])
def test_chunk_windows_cover_the_sequence(total):
    windows = chunk_windows(total)
    covered = torch.zeros(total, dtype=torch.bool)
    for w in windows:
        assert 0 <= w.start and w.start + w.size <= total and w.size == min(total, 128)
        covered[w.start + w.keep_from : w.start + w.keep_to] = True
    assert covered.all()
    assert windows[0].start == 0 and windows[-1].start + windows[-1].size == total
    assert windows[0].keep_from == 0 and windows[-1].keep_to == windows[-1].size
    starts = [w.start for w in windows[:-1]]  # all but the flush-right last window sit on the hop grid
    assert starts == list(range(0, 96 * len(starts), 96))  # hop = 128 - 32


def test_chunk_windows_reject_bad_overlap():
    with pytest.raises(InputError, match="overlap"):
        chunk_windows(300, chunk_size=16, overlap=16)


def _wide_ratio_vae(**kwargs):
    # receptive field of this VAE (ratio 32) is < 16 latents, the half-overlap of the official windows
    return tiny_pretransform(seed=4, strides=(4, 8), channels=2, **kwargs)


def test_chunked_decode_matches_full_decode():
    pt = _wide_ratio_vae()
    z = torch.randn(1, 3, 300)
    full = pt.decode(z)
    chunked = pt.decode_chunked(z)
    assert chunked.shape == full.shape == (1, 2, 300 * 32)
    torch.testing.assert_close(chunked, full, rtol=1e-4, atol=1e-5)


def test_chunked_encode_matches_full_encode():
    pt = _wide_ratio_vae()
    audio = torch.randn(1, 2, 300 * 32 + 5)  # not a multiple of the ratio: last window flush right
    full = pt.encode_features(audio)
    chunked = pt.encode_features_chunked(audio)
    assert chunked.shape == full.shape == (1, 6, 300)
    torch.testing.assert_close(chunked, full, rtol=1e-4, atol=1e-5)


def test_chunked_config_routes_encode_and_decode():
    pt = _wide_ratio_vae(chunked=True)
    z, audio = torch.randn(1, 3, 200), torch.randn(1, 2, 200 * 32)
    assert torch.equal(pt.decode(z), pt.decode_chunked(z))
    assert torch.equal(pt.encode_features(audio), pt.encode_features_chunked(audio))
    noise = torch.randn(1, 3, 200)
    mean, std = bottleneck.posterior(pt.encode_features_chunked(audio))
    torch.testing.assert_close(pt.encode(audio, noise=noise), mean + std * noise)


def test_chunked_with_odd_strides_is_a_config_error():
    pt = randomize_(AutoencoderPretransform(tiny_config(strides=(3, 2), chunked=True)))
    with pytest.raises(ConfigError, match="chunked"):
        pt.decode(torch.zeros(1, 3, 10))
