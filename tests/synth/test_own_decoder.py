"""`audiox train-own --decoder-only`: a new VAE decoder (other width / c_mults) trained on a model folder's
frozen encoder; the folder it writes keeps every other tensor and the latent scale, loads, and decodes."""

from __future__ import annotations

import argparse
import json

import pytest
import torch
from safetensors.torch import load_file

from audiox.errors import ConfigError
from audiox.pipeline.load import default_model_dir
from audiox.synth.own_decoder import DECODER_PREFIX, decoder_config_dict, train_decoder_only
from audiox.synth.own_training import OwnRecipe

# a 4-channel decoder, 2 steps of 2 crops from 2 world items: seconds on one core
TINY = OwnRecipe(vae_batch=2, vae_pool=2, decoder_steps=2, vae_compile=False,
                 vae_from=str(default_model_dir()), decoder_channels=4, decoder_c_mults=(1, 2, 2, 2))


def _weights(folder):
    return load_file(str(folder / "model.safetensors"))


@pytest.mark.slow
def test_new_decoder_folder_keeps_the_encoder_and_scale_and_decodes(tmp_path):
    from audiox.pipeline import AudioX

    folder = train_decoder_only(tmp_path / "run", TINY, quiet=True)
    ours, theirs = _weights(folder), _weights(default_model_dir())
    kept = [k for k in theirs if not k.startswith(DECODER_PREFIX)]
    assert set(ours) - {k for k in ours if k.startswith(DECODER_PREFIX)} == set(kept)
    assert all(torch.equal(ours[k], theirs[k]) for k in kept)  # encoder, backbone, conditioners: identical
    first = DECODER_PREFIX + "layers.0.weight_v"
    assert ours[first].shape != theirs[first].shape
    assert {v.dtype for v in ours.values()} == {torch.float16}
    config = json.loads((folder / "config.json").read_text())
    source = json.loads((default_model_dir() / "config.json").read_text())
    decoder = config["model"]["pretransform"]["config"]["decoder"]["config"]
    assert decoder["channels"] == 4 and decoder["c_mults"] == [1, 2, 2, 2]
    assert config["model"]["pretransform"]["scale"] == source["model"]["pretransform"]["scale"]
    assert config["model"]["pretransform"]["config"]["encoder"] == \
        source["model"]["pretransform"]["config"]["encoder"]

    pipe = AudioX.from_pretrained(folder)
    audio = torch.randn(1, 1, 6400) * 0.1
    assert pipe.reconstruct(audio).shape[-1] == 6400  # the hop is unchanged


@pytest.mark.slow
def test_decoder_run_resumes_and_refuses_another_shape(tmp_path):
    train_decoder_only(tmp_path / "run", TINY, quiet=True)
    log = tmp_path / "run" / "decoder" / "vae_log.json"
    assert len(json.loads(log.read_text())) == 2
    from dataclasses import replace

    train_decoder_only(tmp_path / "run", replace(TINY, decoder_steps=3), quiet=True)
    assert [e["step"] for e in json.loads(log.read_text())] == [0, 1, 2]  # continued, not restarted
    with pytest.raises(ConfigError, match="holds a decoder of shape"):
        train_decoder_only(tmp_path / "run", replace(TINY, decoder_channels=8, decoder_steps=4), quiet=True)


@pytest.mark.slow
def test_without_a_shape_the_folders_own_decoder_is_refined(tmp_path):
    from dataclasses import replace

    folder = train_decoder_only(tmp_path / "run", replace(TINY, decoder_channels=None, decoder_c_mults=None),
                                quiet=True)
    ours, theirs = _weights(folder), _weights(default_model_dir())
    decoder = [k for k in theirs if k.startswith(DECODER_PREFIX)]
    assert all(ours[k].shape == theirs[k].shape for k in decoder)
    assert not all(torch.equal(ours[k], theirs[k]) for k in decoder)


def test_decoder_shape_errors_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="one per stride"):
        decoder_config_dict(default_model_dir(), None, (1, 2))
    with pytest.raises(ConfigError, match="must be > 0"):
        decoder_config_dict(default_model_dir(), 0, None)
    with pytest.raises(ConfigError, match="no model.pretransform"):
        (tmp_path / "config.json").write_text("{}")
        decoder_config_dict(tmp_path, 8, None)
    from dataclasses import replace

    with pytest.raises(ConfigError, match="needs --vae-from"):
        train_decoder_only(tmp_path / "run", replace(TINY, vae_from=None), quiet=True)
    with pytest.raises(ConfigError, match="--decoder-distill needs a new decoder shape"):
        train_decoder_only(tmp_path / "run", replace(TINY, decoder_channels=None, decoder_c_mults=None,
                                                     decoder_distill=True), quiet=True)


def test_decoder_distillation_targets_the_frozen_decoders_output():
    """With a target decoder the loss compares against its output on the same posterior sample, not the crops:
    a decoder distilled from itself has nothing to learn, while against the crops it has."""
    from audiox.pipeline import AudioX
    from audiox.synth.own_training import vae_step_loss

    pretransform = AudioX.from_pretrained(default_model_dir()).model.pretransform.float()
    crops = torch.randn(2, 1, 6400, generator=torch.Generator().manual_seed(1)) * 0.1
    decoder = pretransform.model.decoder
    with torch.no_grad():
        itself, parts, _ = vae_step_loss(pretransform, crops, torch.Generator().manual_seed(0), target_decoder=decoder)
        truth, _, _ = vae_step_loss(pretransform, crops, torch.Generator().manual_seed(0))
    assert parts["stft"] == pytest.approx(0.0, abs=1e-6)
    assert float(itself) == pytest.approx(1e-4 * parts["kl"], rel=1e-5)  # only the KL term is left
    assert float(truth) > 0.1


def test_cli_decoder_shape_needs_decoder_only():
    from audiox.cli.train_own import add_arguments, run

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--out", "x", "--decoder-channels", "64", "--decoder-c-mults", "1,2,4,8"])
    assert args.decoder_c_mults == (1, 2, 4, 8) and not args.decoder_only
    args.quiet = True
    with pytest.raises(ConfigError, match="need --decoder-only"):
        run(args)
    args = parser.parse_args(["--out", "x", "--decoder-distill"])
    args.quiet = True
    assert args.decoder_distill
    with pytest.raises(ConfigError, match="need --decoder-only"):
        run(args)
    with pytest.raises(SystemExit):
        parser.parse_args(["--out", "x", "--decoder-c-mults", "1,a"])


@pytest.mark.parametrize("channels, c_mults", [(6, (1, 2, 2, 2)), (8, (1, 2, 3, 2))])
def test_widened_decoder_computes_what_the_narrow_one_does(channels, c_mults):
    """`vae.widen.widen_decoder`: any wider shape (a multiple of the width or not, wider c_mults) starts
    with the narrow decoder's output; its duplicated channels are not identical (they can grow apart)."""
    from audiox.config.schema import OobleckDecoderConfig
    from audiox.vae.oobleck import OobleckDecoder
    from audiox.vae.widen import widen_decoder

    def decoder(ch, mults):
        torch.manual_seed(ch)
        return OobleckDecoder(OobleckDecoderConfig(out_channels=1, channels=ch, c_mults=mults,
                                                   strides=(2, 2, 2, 2), latent_dim=3, use_snake=True,
                                                   final_tanh=False))

    narrow = decoder(4, (1, 2, 2, 2))
    with torch.no_grad():  # trained-looking snakes and biases, not the all-zero init
        for p in narrow.parameters():
            p.add_(0.1 * torch.randn(p.shape))
    wide = widen_decoder(narrow, decoder(channels, c_mults), seed=0)
    z = torch.randn(2, 3, 5)
    with torch.no_grad():
        assert torch.allclose(wide(z), narrow(z), atol=1e-5)
    v = wide.layers[-2].weight_v  # output conv (1, channels, 7): channels 0 and 4 both copy channel 0
    assert not torch.allclose(v[:, 0], v[:, 4])


def test_widening_refuses_a_narrower_or_different_decoder():
    from audiox.config.schema import OobleckDecoderConfig
    from audiox.vae.oobleck import OobleckDecoder
    from audiox.vae.widen import widen_decoder

    def decoder(ch, strides):
        return OobleckDecoder(OobleckDecoderConfig(out_channels=1, channels=ch, c_mults=(1, 2),
                                                   strides=strides, latent_dim=3, use_snake=True,
                                                   final_tanh=False))

    with pytest.raises(ConfigError, match="shrink"):
        widen_decoder(decoder(8, (2, 2)), decoder(4, (2, 2)))
    with pytest.raises(ConfigError, match="kernel sizes differ"):
        widen_decoder(decoder(4, (2, 2)), decoder(8, (2, 4)))


@pytest.mark.slow
def test_zero_steps_of_a_widened_decoder_decode_as_the_source_folder(tmp_path):
    from dataclasses import replace

    from audiox.pipeline import AudioX

    recipe = replace(TINY, decoder_channels=40, decoder_c_mults=None, decoder_widen=True, decoder_steps=0)
    folder = train_decoder_only(tmp_path / "run", recipe, quiet=True)
    assert not (tmp_path / "run" / "decoder" / "crop_pool.pt").exists()  # nothing to train: nothing rendered
    audio = torch.sin(torch.arange(6400) * 0.3)[None, None] * 0.3
    ours, theirs = AudioX.from_pretrained(folder).reconstruct(audio), AudioX.from_pretrained().reconstruct(audio)
    assert (ours - theirs).abs().max() < 1e-2 * theirs.abs().max()  # float16 storage of the split weights
    with pytest.raises(ConfigError, match="needs a wider shape"):
        train_decoder_only(tmp_path / "run2", replace(recipe, decoder_channels=None), quiet=True)


@pytest.mark.slow
def test_a_noise_source_folder_decodes_as_the_source_until_trained(tmp_path):
    from dataclasses import replace

    from audiox.pipeline import AudioX

    recipe = replace(TINY, decoder_channels=None, decoder_c_mults=None, decoder_noise=2, decoder_steps=0)
    folder = train_decoder_only(tmp_path / "run", recipe, quiet=True)
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["pretransform"]["config"]["decoder"]["config"]["noise_blocks"] == 2
    assert any(".gate." in k for k in _weights(folder))
    audio = torch.sin(torch.arange(6400) * 0.3)[None, None] * 0.3
    ours, theirs = AudioX.from_pretrained(folder).reconstruct(audio), AudioX.from_pretrained().reconstruct(audio)
    assert torch.equal(ours, theirs)  # closed gates: the shipped decoder exactly
    trained = train_decoder_only(tmp_path / "run", replace(recipe, decoder_steps=2), quiet=True)
    gates = [v for k, v in _weights(trained).items() if ".gate." in k]
    assert any(g.abs().sum() > 0 for g in gates)  # the gates learn
    with pytest.raises(ConfigError, match="holds a decoder of shape"):
        train_decoder_only(tmp_path / "run", replace(recipe, decoder_noise=1), quiet=True)


def test_analyser_mel_loss_sees_what_the_analyser_sees():
    """`--vae-mel-weight`'s loss: 0 for equal audio, and its log-mel is the analyser's (10 dB units) where the
    sound is well above the floors; gradients reach the output."""
    import numpy as np

    from audiox.evaluation.onsets import analyse_spectrum
    from audiox.training.vae_losses import analyser_mel_loss

    t = torch.arange(16000) / 16000
    tone = (0.5 * torch.sin(2 * torch.pi * 440 * t) + 0.3 * torch.sin(2 * torch.pi * 2500 * t))[None, None]
    noise = 0.2 * torch.randn(1, 1, 16000, generator=torch.Generator().manual_seed(0))
    out = (tone + noise).clone().requires_grad_(True)
    assert float(analyser_mel_loss(tone + noise, tone + noise, sample_rate=16000)) == 0.0
    loss = analyser_mel_loss(out, tone, sample_rate=16000, floor_db=-200.0)
    loss.backward()
    assert float(loss.detach()) > 0 and out.grad.abs().sum() > 0
    silent = torch.zeros_like(tone)
    ours = analyser_mel_loss(tone + noise, silent, sample_rate=16000, floor_db=-200.0)
    reference = analyse_spectrum((tone + noise)[0, 0].numpy(), 16000).log_mel  # dB, (64, T)
    assert float(ours) * 10 - 200 == pytest.approx(float(np.mean(reference)), rel=0.02)


@pytest.mark.slow
def test_snapshot_writes_the_saved_state_as_a_folder(tmp_path):
    from audiox.synth.own_decoder import snapshot

    train_decoder_only(tmp_path / "run", TINY, quiet=True)
    folder, step = snapshot(tmp_path / "run", default_model_dir(), tmp_path / "snap")
    final = _weights(tmp_path / "run" / "model")
    assert step == 2 and folder == tmp_path / "snap" / "model"
    assert all(torch.equal(final[k], v) for k, v in _weights(folder).items())


def _decoder_folder(tmp_path, channels=4):
    """The shipped folder with a fresh `channels`-wide decoder (no training), as `--decoder-only` writes it."""
    from audiox.synth.own_decoder import new_decoder, write_folder

    config = decoder_config_dict(default_model_dir(), channels, (1, 2, 2, 2))
    decoder = {f"decoder.{k}": v for k, v in new_decoder(config, seed=3).state_dict().items()}
    return write_folder(default_model_dir(), config, decoder, tmp_path / "light")


def _student(tmp_path, change_encoder=False):
    """A float32 copy of the shipped folder with one backbone tensor changed (a stand-in for a distilled
    student); `change_encoder`: one encoder tensor changed too (other latents)."""
    import shutil

    from audiox.checkpoints.convert import write_safetensors_atomic

    folder = tmp_path / ("other" if change_encoder else "student")
    shutil.copytree(default_model_dir(), folder)
    tensors = {k: v.float() for k, v in _weights(folder).items()}
    backbone = next(k for k in tensors if k.startswith("model."))
    tensors[backbone] = tensors[backbone] + 1.0
    if change_encoder:
        encoder = next(k for k in tensors if k.startswith("pretransform.model.encoder."))
        tensors[encoder] = tensors[encoder] * 1.5
    write_safetensors_atomic(tensors, folder / "model.safetensors", {"format": "pt"})
    return folder


def test_swap_decoder_gives_a_student_the_light_decoder_and_keeps_the_rest(tmp_path):
    from audiox.pipeline import AudioX
    from audiox.synth.own_decoder import swap_decoder

    light, student = _decoder_folder(tmp_path), _student(tmp_path)
    out = swap_decoder(student, light, tmp_path / "student_light")
    ours, mine, theirs = _weights(out), _weights(student), _weights(light)
    for key, value in ours.items():
        source = theirs if key.startswith(DECODER_PREFIX) else mine
        assert value.dtype == torch.float32 and torch.equal(value, source[key].float()), key
    assert set(ours) == {k for k in mine if not k.startswith(DECODER_PREFIX)} | \
        {k for k in theirs if k.startswith(DECODER_PREFIX)}
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["pretransform"]["config"]["decoder"]["config"]["channels"] == 4
    assert (out / "audiox.json").read_text() == (student / "audiox.json").read_text()
    latents = torch.randn(1, 32, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        got = AudioX.from_pretrained(out).model.pretransform.decode(latents)
        want = AudioX.from_pretrained(light).model.pretransform.decode(latents)
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_swap_decoder_refuses_a_decoder_of_other_latents(tmp_path):
    from audiox.synth.own_decoder import swap_decoder

    with pytest.raises(ConfigError, match="was not trained on the encoder of"):
        swap_decoder(_student(tmp_path, change_encoder=True), _decoder_folder(tmp_path), tmp_path / "x")
    with pytest.raises(ConfigError, match="is not a model folder"):
        swap_decoder(tmp_path / "missing", _decoder_folder(tmp_path), tmp_path / "y")
    assert not (tmp_path / "x").exists()
