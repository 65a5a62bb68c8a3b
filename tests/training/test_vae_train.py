"""VAE training: the losses behave, and a few GAN steps on a tiny VAE run and export the weights."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from audiox.training.config import VaeTrainConfig, apply_overrides
from audiox.training.fit import build_training_model
from audiox.training.vae_losses import (
    MultiScaleDiscriminator,
    discriminator_hinge_loss,
    feature_matching_loss,
    generator_hinge_loss,
    multi_resolution_stft_loss,
)
from audiox.training.vae_train import train_vae
from tests.training.tiny_data import write_tiny_dataset

RES = ([128, 64], [32, 16], [128, 64])


def test_stft_loss_is_zero_for_identical_audio_and_grows_with_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 2, 1024, generator=g)
    assert float(multi_resolution_stft_loss(x, x, *RES)) < 1e-5
    small = multi_resolution_stft_loss(x + 0.01 * torch.randn(x.shape, generator=g), x, *RES)
    large = multi_resolution_stft_loss(x + 0.5 * torch.randn(x.shape, generator=g), x, *RES)
    assert 0 < float(small) < float(large)


def test_discriminator_shapes_and_hinge_losses():
    disc = MultiScaleDiscriminator(in_channels=2, channels=4, num_layers=2, num_scales=3)
    logits, features = disc(torch.randn(1, 2, 1024))
    assert len(logits) == 3 and all(t.shape[:2] == (1, 1) for t in logits) and len(features[0]) == 2
    ones = [torch.ones(1, 1, 4)]
    assert float(discriminator_hinge_loss(ones, [-t for t in ones])) == 0.0  # confident and right: no loss
    assert float(generator_hinge_loss(ones)) == -1.0
    assert float(feature_matching_loss(features, features)) == 0.0


def test_train_vae_runs_and_exports_official_vae_keys(tmp_path):
    manifest = write_tiny_dataset(tmp_path / "data", num_items=2, seconds=1.0)
    cfg = apply_overrides(VaeTrainConfig(), ["run.max_steps=4", "run.batch_size=2", "sample_size=1024",
                                             "stft.fft_sizes=[128,64]", "stft.hop_sizes=[32,16]",
                                             "stft.win_lengths=[128,64]", "adversarial_start_step=2",
                                             "run.checkpoint_every_n_steps=2", "run.log_every_n_steps=1"])
    built = build_training_model(model_config="tiny-dit")
    before = {k: v.clone() for k, v in built.model.pretransform.model.state_dict().items()}
    result = train_vae(built.model, cfg, manifest, tmp_path / "vae")
    assert result.trainer.global_step == 4  # two optimizer steps (generator, discriminator) per batch
    weights = load_file(result.weights)
    assert weights.keys() == before.keys() and all(k.split(".")[0] in ("encoder", "decoder") for k in weights)
    assert any(not torch.equal(weights[k], before[k]) for k in weights)
    metrics = (tmp_path / "vae" / "logs" / "version_0" / "metrics.csv").read_text()
    assert "vae/stft" in metrics and "vae/discriminator" in metrics and "vae/adversarial" in metrics


def test_log_mel_frames_line_up_with_latent_frames_and_see_the_tone():
    from audiox.training.vae_losses import log_mel_frames

    t = torch.arange(16000) / 16000
    tone = torch.zeros(1, 1, 16000)
    tone[..., 8000:] = 0.5 * torch.sin(2 * torch.pi * 2000 * t[8000:])
    mel = log_mel_frames(tone, sample_rate=16000, hop=640, n_mels=32)
    assert mel.shape == (1, 32, 26)  # frame l centred on sample 640 l
    silent, sounding = mel[0, :, 5], mel[0, :, 20]
    assert float(silent.max()) == pytest.approx(-5.0)  # the 1e-5 floor
    assert int(sounding.argmax()) not in (0, 31) and float(sounding.max()) > 0.0


def test_spectral_probe_learns_the_envelope_and_passes_gradient_to_the_latents():
    from audiox.training.vae_losses import LatentSpectralProbe

    torch.manual_seed(0)
    probe = LatentSpectralProbe(latent_dim=4, n_mels=8)
    audio = 0.3 * torch.randn(2, 1, 6400)
    latents = torch.randn(2, 4, 10, requires_grad=True)
    loss = probe.loss(latents, audio, sample_rate=16000, hop=640)
    loss.backward()
    assert loss.ndim == 0 and float(latents.grad.abs().sum()) > 0
    opt = torch.optim.Adam(probe.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        later = probe.loss(latents.detach(), audio, sample_rate=16000, hop=640)
        later.backward()
        opt.step()
    assert float(later) < 0.5 * float(loss)
