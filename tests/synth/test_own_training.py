"""The own-model recipe (`audiox train-own`): every stage runs end to end at toy sizes, resumes by skipping
finished stages, and writes a float16 model folder that the pipeline loads with its own sampler defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from audiox.errors import ConfigError
from audiox.synth.own_training import (
    GENERATION_DEFAULTS,
    OwnRecipe,
    latent_scale,
    recipe_with,
    train_own_model,
)

TOY = OwnRecipe(vae_steps=2, vae_batch=2, vae_pool=2, items=4, steps=2, batch=2, decoder_steps=2, vae_compile=False)


@pytest.mark.slow
def test_toy_run_writes_a_loadable_float16_model_and_resumes(tmp_path):
    from audiox.pipeline import AudioX

    folder = train_own_model(tmp_path / "run", TOY, quiet=True)
    assert json.loads((tmp_path / "run" / "recipe.json").read_text())["items"] == 4
    scale = json.loads((tmp_path / "run" / "vae" / "latent_scale.json").read_text())["scale"]
    assert scale > 0
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
    assert dtypes == {"F16"}
    defaults = json.loads((folder / "audiox.json").read_text())["generation_defaults"]
    assert defaults == GENERATION_DEFAULTS["rectified_flow"]  # the MMDiT trains with rectified flow
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["pretransform"]["scale"] == pytest.approx(scale)
    assert len(json.loads((tmp_path / "run" / "cache" / "index.json").read_text())["items"]) == 4

    pipe = AudioX.from_pretrained(folder)
    assert pipe.defaults.steps == defaults["steps"] and pipe.model.pretransform.scale == pytest.approx(scale)
    out = pipe.generate("a knock", duration_s=1.0, steps=2, seed=0)
    assert out.audio.shape == (1, 1, 16000) and torch.isfinite(out.audio).all()

    from safetensors.torch import load_file

    refined = load_file(str(tmp_path / "run" / "decoder" / "vae.safetensors"))
    first = load_file(str(tmp_path / "run" / "vae" / "vae.safetensors"))
    assert all(torch.equal(refined[k], first[k]) for k in first if k.startswith("encoder."))
    assert not all(torch.equal(refined[k], first[k]) for k in first if k.startswith("decoder."))
    shipped = load_file(str(folder / "model.safetensors"))
    key = next(k for k in first if k.startswith("decoder.") and not torch.equal(refined[k], first[k]))
    assert torch.equal(shipped[f"pretransform.model.{key}"], refined[key].half())

    vae = tmp_path / "run" / "vae" / "vae.safetensors"
    stamp = vae.stat().st_mtime_ns
    train_own_model(tmp_path / "run", TOY, quiet=True)  # every stage done: only the folder is rewritten
    assert vae.stat().st_mtime_ns == stamp


def test_latent_scale_is_the_std_of_posterior_means():
    class Model(torch.nn.Module):
        def encode_features(self, audio):  # (1, C, S) -> (1, 2, S): mean = 3 * audio, log-scale 0
            return torch.cat([3 * audio, torch.zeros_like(audio)], dim=1)

    class Pretransform:
        model = Model()

    audio = torch.randn(4, 1, 4000, generator=torch.Generator().manual_seed(0))
    assert latent_scale(Pretransform(), audio) == pytest.approx(3 * float(audio.std()), rel=1e-5)


@pytest.mark.parametrize("field", ["vae_steps", "items", "steps", "batch", "vae_crop"])
def test_recipe_rejects_non_positive_sizes(field):
    with pytest.raises(ConfigError, match=field):
        OwnRecipe(**{field: 0})


def test_recipe_with_keeps_unset_fields():
    changed = recipe_with(OwnRecipe(), steps=7, items=None)
    assert changed.steps == 7 and changed.items == OwnRecipe().items


def test_vae_crop_must_fit_the_vae_ratio(tmp_path):
    from audiox.synth.own_training import train_vae_stage
    from audiox.synth.training_data import build_own_model, synth_training_config

    model, _ = build_own_model("mmdit", seed=0)
    world = synth_training_config(model).world()
    with pytest.raises(ConfigError, match="multiple of the VAE ratio 640"):
        train_vae_stage(model, recipe_with(TOY, vae_crop=1000), world, tmp_path)


def test_shrink_posterior_std_starts_the_vae_near_clean_latents():
    from audiox.synth.own_training import shrink_posterior_std
    from audiox.synth.training_data import build_own_model
    from audiox.vae import bottleneck

    model, _ = build_own_model("mmdit", seed=0)
    audio = 0.3 * torch.randn(1, 1, 6400, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mean0, std0 = bottleneck.posterior(model.pretransform.model.encode_features(audio))
        shrink_posterior_std(model.pretransform, -6.0)
        mean1, std1 = bottleneck.posterior(model.pretransform.model.encode_features(audio))
    assert torch.equal(mean0, mean1)  # only the scale half moves
    assert float(std0.mean()) > 0.3 and float(std1.mean()) < 0.02


@pytest.mark.parametrize("sizes", [(), (512, 8)])
def test_recipe_rejects_empty_or_tiny_fft_sizes(sizes):
    with pytest.raises(ConfigError, match="vae_fft_sizes"):
        OwnRecipe(vae_fft_sizes=sizes)


def test_vae_stage_keeps_its_probe_across_a_resume_and_refuses_a_changed_setting(tmp_path):
    from audiox.synth.own_training import train_vae_stage
    from audiox.synth.training_data import build_own_model, synth_training_config

    model, _ = build_own_model("mmdit", seed=0)
    world = synth_training_config(model).world()
    recipe = recipe_with(TOY, vae_crop=1280, vae_fft_sizes=(256, 64))
    train_vae_stage(model, recipe, world, tmp_path, quiet=True)
    state = torch.load(tmp_path / "vae_state.pt", weights_only=True)
    assert state["step"] == 2 and set(state["probe"]) == {"head.weight", "head.bias"}
    log = json.loads((tmp_path / "vae_log.json").read_text())
    assert len(log) == 2 and all(row["probe"] > 0 for row in log)
    train_vae_stage(model, recipe_with(recipe, vae_steps=3), world, tmp_path, quiet=True)  # resumes: 1 more
    assert torch.load(tmp_path / "vae_state.pt", weights_only=True)["step"] == 3
    with pytest.raises(ConfigError, match="vae_probe_weight"):
        train_vae_stage(model, recipe_with(recipe, vae_steps=4, vae_probe_weight=0.0), world, tmp_path, quiet=True)


def test_sharpen_encoder_snakes_touches_only_the_first_encoder_blocks():
    from audiox.synth.own_training import sharpen_encoder_snakes
    from audiox.synth.training_data import build_own_model
    from audiox.vae.snake import SnakeBeta

    model, _ = build_own_model("mmdit", seed=0)
    pretransform = model.pretransform
    assert sharpen_encoder_snakes(pretransform, 1.0, 2) == 2 * 7  # 3 residual units x 2 + the block's own
    layers = list(pretransform.model.encoder.layers)
    alphas = [float(m.alpha.mean()) for block in layers[1:3] for m in block.modules() if isinstance(m, SnakeBeta)]
    assert alphas == [1.0] * 14
    rest = [m.alpha for block in layers[3:] for m in block.modules() if isinstance(m, SnakeBeta)]
    rest += [m.alpha for m in pretransform.model.decoder.modules() if isinstance(m, SnakeBeta)]
    assert rest and all(float(a.abs().max()) == 0.0 for a in rest)


def test_adversarial_decoder_stage_trains_only_the_decoder_and_keeps_its_discriminator(tmp_path):
    from audiox.synth.own_training import train_vae_stage
    from audiox.synth.training_data import build_own_model, synth_training_config

    model, _ = build_own_model("mmdit", seed=0)
    world = synth_training_config(model).world()
    recipe = recipe_with(TOY, vae_crop=1280, vae_fft_sizes=(256, 64), decoder_steps=1)
    train_vae_stage(model, recipe, world, tmp_path, quiet=True, decoder_only=True)  # STFT only: no discriminator
    assert "discriminator" not in torch.load(tmp_path / "vae_state.pt", weights_only=True)
    encoder = {k: v.clone() for k, v in model.pretransform.model.encoder.state_dict().items()}
    decoder = {k: v.clone() for k, v in model.pretransform.model.decoder.state_dict().items()}

    adversarial = recipe_with(recipe, decoder_steps=3, decoder_adversarial=True)
    train_vae_stage(model, adversarial, world, tmp_path, quiet=True, decoder_only=True)  # continues with a fresh one
    state = torch.load(tmp_path / "vae_state.pt", weights_only=True)
    assert state["step"] == 3 and state["discriminator"] and state["discriminator_optimizer"]["state"]
    log = json.loads((tmp_path / "vae_log.json").read_text())
    assert len(log) == 3 and "adversarial" not in log[0]
    assert all(row["feature_matching"] > 0 and row["discriminator"] > 0 for row in log[1:])
    assert all(torch.equal(v, model.pretransform.model.encoder.state_dict()[k]) for k, v in encoder.items())
    assert not all(torch.equal(v, model.pretransform.model.decoder.state_dict()[k]) for k, v in decoder.items())

    saved = {k: v.clone() for k, v in state["discriminator"].items()}
    train_vae_stage(model, recipe_with(adversarial, decoder_steps=4), world, tmp_path, quiet=True, decoder_only=True)
    resumed = torch.load(tmp_path / "vae_state.pt", weights_only=True)
    assert not all(torch.equal(resumed["discriminator"][k], saved[k]) for k in saved)
    # loaded, not fresh: its optimizer has taken the 2 earlier adversarial steps and this one
    assert {int(s["step"]) for s in resumed["discriminator_optimizer"]["state"].values()} == {3}


def test_train_own_cli_switches_the_adversarial_decoder_stage_on_only_when_asked():
    import argparse

    from audiox.cli.train_own import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    on = parser.parse_args(["--out", "x", "--decoder-steps", "9", "--decoder-adversarial"])
    off = parser.parse_args(["--out", "x"])
    assert recipe_with(OwnRecipe(), decoder_steps=on.decoder_steps, decoder_adversarial=on.decoder_adversarial) \
        == recipe_with(OwnRecipe(), decoder_steps=9, decoder_adversarial=True)
    assert recipe_with(OwnRecipe(), decoder_adversarial=off.decoder_adversarial) == OwnRecipe()
    assert OwnRecipe().decoder_adversarial is False


def test_model_folder_gets_the_sampler_defaults_of_its_objective(tmp_path, tiny_model_dir):
    """A `--backbone dit` run trains with the v objective: its folder must not default to the flow sampler."""
    from audiox.pipeline import AudioX
    from audiox.synth.own_training import _finish_folder

    folder = tmp_path / "dit_model"
    _finish_folder(Path(tiny_model_dir), folder)
    defaults = json.loads((folder / "audiox.json").read_text())["generation_defaults"]
    pipe = AudioX.from_pretrained(folder)
    assert pipe.model.objective == "v" and defaults == GENERATION_DEFAULTS["v"]
    out = pipe.generate("a knock", steps=2, seed=0)  # the default sampler runs on this model
    assert torch.isfinite(out.audio).all()


@pytest.mark.slow
def test_run_with_a_vae_from_a_model_folder_trains_only_the_diffusion_stage(tmp_path):
    """--vae-from: the VAE (encoder, decoder, scale) of the shipped folder, no VAE / decoder stage; the
    MMDiT's pooled request path and coherent init end up in the folder."""
    from safetensors.torch import load_file

    from audiox.pipeline import AudioX
    from audiox.pipeline.load import default_model_dir

    shipped = default_model_dir()
    recipe = OwnRecipe(items=4, steps=2, batch=2, vae_from=str(shipped), pooled_condition=True, coherent_init=True)
    folder = train_own_model(tmp_path / "run", recipe, quiet=True)
    assert not (tmp_path / "run" / "decoder").exists() and not (tmp_path / "run" / "vae" / "vae_state.pt").exists()
    ours, theirs = load_file(str(folder / "model.safetensors")), load_file(str(shipped / "model.safetensors"))
    vae_keys = [k for k in theirs if k.startswith("pretransform.model.")]
    assert vae_keys and all(torch.equal(ours[k], theirs[k]) for k in vae_keys)
    assert any(".transformer.pooled.net." in k for k in ours)
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["diffusion"]["config"]["pooled_condition"] is True
    shipped_scale = json.loads((shipped / "config.json").read_text())["model"]["pretransform"]["scale"]
    assert config["model"]["pretransform"]["scale"] == pytest.approx(shipped_scale)
    out = AudioX.from_pretrained(folder).generate("a knock", duration_s=1.0, steps=2, seed=0)
    assert torch.isfinite(out.audio).all()


def test_vae_from_a_folder_without_weights_is_a_clear_error(tmp_path):
    from audiox.synth.own_training import import_vae

    with pytest.raises(ConfigError, match="no model.safetensors"):
        import_vae(tmp_path, tmp_path / "vae")


def test_init_from_a_folder_starts_from_its_weights_and_adds_a_silent_pooled_path(tmp_path):
    """--init-from: the built model computes exactly what the folder computes (the new pooled path's output
    starts at zero), frozen encoders included; a folder of another backbone is a clear error."""
    from audiox.pipeline import AudioX
    from audiox.pipeline.load import default_model_dir
    from audiox.synth.own_training import init_diffusion_from
    from audiox.synth.training_data import build_own_model

    shipped = default_model_dir()
    with pytest.raises(ConfigError, match="--plan-slots 48"):  # the shipped folder has a caption planner
        init_diffusion_from(build_own_model("mmdit", seed=3, pooled_condition=True)[0], shipped)
    model, _ = build_own_model("mmdit", seed=3, pooled_condition=True, plan_slots=48)
    init_diffusion_from(model, shipped)
    reference = AudioX.from_pretrained(shipped).model
    for name, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[name], value.float()), name
    x, t = torch.randn(1, 32, 250, generator=torch.Generator().manual_seed(0)), torch.tensor([0.7])
    context = torch.randn(1, 384, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(model.backbone(x, t, context), reference.float().backbone(x, t, context), atol=1e-5)
    text = next(c for c in model.conditioner.conditioners.values() if hasattr(c, "text_encoder"))
    theirs = next(c for c in reference.conditioner.conditioners.values() if hasattr(c, "text_encoder"))
    assert all(torch.equal(a, b.float()) for a, b in zip(text.text_encoder.model.state_dict().values(),
                                                         theirs.text_encoder.model.state_dict().values()))
    dit, _ = build_own_model("dit", seed=0)
    with pytest.raises(ConfigError, match="does not fit"):
        init_diffusion_from(dit, shipped)


def test_init_from_cannot_go_with_a_coherent_init():
    with pytest.raises(ConfigError, match="coherent"):
        OwnRecipe(init_from="x", coherent_init=True)


def test_event_crops_put_short_events_in_crops_as_often_as_long_ones():
    """With event_share 1 every crop holds an onset of a drawn kind in its first half, and every kind is
    drawn about equally often, however short its events; share 0 keeps the uniform draws bit for bit."""
    from audiox.synth.dataset import SynthConfig, sample_labels
    from audiox.synth.own_training import CROP_POOL_OFFSET, EventCrops, draw_crops

    world = SynthConfig(sample_rate=1000, channels=1, duration_s=10.0, music_prob=0.0)
    events = EventCrops.of_pool(world, 64)
    assert set(events.starts) >= {"clap", "engine"} and events.length == 10_000
    onsets = {(r, round(e.onset_s * 1000)): e.kind for r in range(64)
              for e in sample_labels(world, CROP_POOL_OFFSET + r).events}
    pool = torch.arange(64)[:, None, None].float().expand(64, 1, 10_000)  # row id in every sample
    index = torch.arange(10_000).float()[None, None].expand(64, 1, 10_000)
    gen = torch.Generator().manual_seed(0)
    rows = draw_crops(pool, 2000, 400, gen, events=events, event_share=1.0)[:, 0, 0].long()
    gen = torch.Generator().manual_seed(0)
    starts = draw_crops(index, 2000, 400, gen, events=events, event_share=1.0)[:, 0, 0].long()
    kinds = []
    for r, s in zip(rows.tolist(), starts.tolist()):
        inside = [k for (row, o), k in onsets.items() if row == r and s <= o <= s + 200]
        assert inside, (r, s)
        kinds.append(inside)
    share = {k: sum(k in found for found in kinds) / len(kinds) for k in events.starts}
    assert min(share.values()) > 0.06  # ten kinds: ~0.1 each (+ neighbours sharing a crop)

    plain = draw_crops(pool, 8, 400, torch.Generator().manual_seed(3))
    assert torch.equal(plain, draw_crops(pool, 8, 400, torch.Generator().manual_seed(3), events=events))


def test_recipe_rejects_an_event_crop_share_outside_0_1():
    with pytest.raises(ConfigError, match="vae_event_crops"):
        OwnRecipe(vae_event_crops=1.5)
