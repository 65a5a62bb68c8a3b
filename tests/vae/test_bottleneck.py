import pytest
import torch
from torch.nn import functional as F

from audiox.errors import InputError
from audiox.vae import bottleneck


def test_posterior_splits_mean_then_scale():
    features = torch.randn(2, 6, 5)
    mean, std = bottleneck.posterior(features)
    assert torch.equal(mean, features[:, :3])
    torch.testing.assert_close(std, F.softplus(features[:, 3:]) + 1e-4)
    assert (std > 0).all()


def test_posterior_rejects_odd_channels():
    with pytest.raises(InputError, match=r"features.shape=torch.Size\(\[2, 5, 4\]\)"):
        bottleneck.posterior(torch.zeros(2, 5, 4))


def test_quirk_kl_sums_channels_and_averages_batch_and_time():
    g = torch.Generator().manual_seed(0)
    mean, std = torch.randn(2, 3, 4, generator=g), torch.rand(2, 3, 4, generator=g) + 0.1
    kl = bottleneck.kl_divergence(mean, std)
    per_element = mean**2 + std**2 - torch.log(std**2) - 1  # no 1/2 factor
    torch.testing.assert_close(kl, per_element.sum() / (2 * 4))
    assert kl.shape == ()
    assert bottleneck.kl_divergence(torch.zeros(1, 2, 3), torch.ones(1, 2, 3)) == 0


def test_quirk_bottleneck_samples_from_generator():
    mean, std = torch.randn(2, 3, 4), torch.rand(2, 3, 4)
    a = bottleneck.draw_noise(mean, noise=None, generator=torch.Generator().manual_seed(7))
    b = bottleneck.draw_noise(mean, noise=None, generator=torch.Generator().manual_seed(7))
    c = bottleneck.draw_noise(mean, noise=None, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(
        a, torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(7))
    )  # = randn_like stream
    assert torch.equal(bottleneck.sample(mean, std, torch.zeros_like(mean)), mean)


@pytest.mark.parametrize(
    "noise,generator,message",
    [
        (torch.zeros(2, 3, 5), None, r"noise.shape=torch.Size\(\[2, 3, 5\]\)"),
        (None, None, "generator"),
    ],
)
def test_draw_noise_bad_input(noise, generator, message):
    with pytest.raises(InputError, match=message):
        bottleneck.draw_noise(torch.zeros(2, 3, 4), noise=noise, generator=generator)
