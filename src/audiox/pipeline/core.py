"""`AudioX`: the generation pipeline. check the request -> prepare media -> encode conditions once ->
sample latents -> decode -> trim. Long requests run window by window (`pipeline.windows`).

Randomness: one CPU `torch.Generator` seeded with the request's seed per window, drawn in the official
order (initial noise, conditioner draws, [init-audio VAE draw], sampler), so a CPU run reproduces the
official code's draws for the same seed.

What comes back: inpainting returns the user's audio with only the range replaced (`pipeline.splice`);
continuation returns the user's audio followed by the new audio (`new_only`: the new audio alone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor

from audiox.conditioning.synchformer import Synchformer
from audiox.conditioning.text_t5 import T5TextConditioner
from audiox.diffusion.model import DiffusionModel
from audiox.errors import ConfigError, InputError
from audiox.fusion.sequence import Condition
from audiox.media.audio import crop_or_pad, fix_channels, prepare_audio_prompt, read_audio
from audiox.pipeline.checks import DEFAULT_INIT_STRENGTH
from audiox.pipeline.device import check_device
from audiox.pipeline.inputs import CONDITIONING_WINDOW_S, WindowMedia, conditioner_inputs, to_device
from audiox.pipeline.offload import HOST, StagePlacer, in_stage, pipeline_stages, resident_modules
from audiox.pipeline.precision import autocast, resolve_precision
from audiox.pipeline.prepare import prepare_request
from audiox.pipeline.request import GenerationRequest
from audiox.pipeline.splice import kept_window, returned_audio
from audiox.pipeline.stage_clock import NO_CLOCK, StageClock
from audiox.pipeline.windows import Window, crossfade_join, last_seconds, plan_windows
from audiox.sampling.k_solvers import Callback
from audiox.sampling.run import SamplerSettings, sample_latents, sampling_grid

StepCallback = Callable[[int, int], None]  # (sampler steps done over all windows, total steps)


@dataclass(frozen=True)
class AudioOutput:
    """audio: (B, C, S) float32 at `sample_rate`, S = round(duration_s * sample_rate), plus the prompt's
    length for a continuation without `new_only`. `request`: as run (defaults and duration filled in)."""

    audio: Tensor
    sample_rate: int
    request: GenerationRequest


@dataclass(frozen=True)
class Defaults:
    sampler: str
    steps: int
    cfg_scale: float
    sigma_min: float = 0.3
    sigma_max: float = 500.0


class AudioX:
    """Generate audio from any mix of text, video / image and audio with an AudioX-family model."""

    def __init__(
        self,
        model: DiffusionModel,
        *,
        synchformer: Synchformer | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
        precision: str = "exact",
        overlap_s: float = 1.0,
        progress: bool = False,
        defaults: Defaults | None = None,
        reuse: bool = True,
        offload: bool = False,
        clock: StageClock | None = None,
    ) -> None:
        """`defaults`: the model's own sampler defaults (e.g. a distilled or small model), else the
        official ones for its family (see `defaults`). `precision`: "exact" (the official numerics) or
        "fast" (bf16 steps and decode where native, T5 in float32 on a CPU; `pipeline.precision`); `dtype`
        overrides the autocast dtype of the sampler steps. `reuse`: skip work whose result is fixed, with the
        same output (the backbone's step-invariant cache per window, the learned empty feature for no
        video without running CLIP, the VAE encoding of a silent audio prompt remembered per model);
        False recomputes everything at every step, as the official code does. `offload`: keep the model in
        host memory and only the running stage (conditioners, backbone, VAE) on the device
        (`pipeline.offload`; a no-op on a CPU). `clock`: a `StageClock` that adds up the seconds of each
        stage (conditioners, prepare, steps, decode) of every window (`pipeline.stage_clock`)."""
        if model.conditioner is None or model.pretransform is None:
            raise ConfigError("a generation model needs model.conditioning and model.pretransform in its config")
        self.device = device = check_device(device)
        self._placer = StagePlacer(pipeline_stages(model, synchformer), device, enabled=offload)
        home = HOST if self._placer.enabled else device  # offload: each stage moves in when it runs
        self.model = model.eval().requires_grad_(False).to(home)
        self.synchformer = synchformer.to(home) if synchformer is not None else None
        for module in resident_modules(self.model):
            module.to(device)
        self.precision = resolve_precision(precision, self.device, dtype)
        self.dtype = self.precision.network_dtype
        self.overlap_s, self.progress, self.reuse = overlap_s, progress, reuse
        self._defaults = defaults
        self.clock = clock if clock is not None else NO_CLOCK

    @classmethod
    def from_pretrained(cls, path=None, **kwargs) -> AudioX:
        """Load a model folder (official `config.json` + `model.ckpt`/`model.safetensors` + ...), a Hugging
        Face repo id from the local cache ("HKUSTAudio/AudioX-MAF"; `download=True` fetches missing files), or
        None: the small model shipped in the package; see `audiox.pipeline.load.load_pipeline`."""
        from audiox.pipeline.load import load_pipeline

        check_device(kwargs.get("device", "cpu"))  # before the (slow) load
        return load_pipeline(path, **kwargs)

    @property
    def sample_rate(self) -> int:
        return self.model.config.sample_rate

    @property
    def num_latent_frames(self) -> int:
        """Latent frames of one window (MMDiT: fixed by its config; DiT: sample_size // ratio)."""
        backbone = self.model.backbone
        if hasattr(backbone, "num_latent_frames"):
            return backbone.num_latent_frames
        return self.model.config.sample_size // self.model.pretransform.downsampling_ratio

    @property
    def window_s(self) -> float:
        """Longest span one window generates: min(decoded window, the conditioners' 10 s)."""
        decoded = self.model.pretransform.decoded_length(self.num_latent_frames) / self.sample_rate
        return min(decoded, CONDITIONING_WINDOW_S)

    @property
    def defaults(self) -> Defaults:
        """Official defaults: v -> dpmpp-3m-sde 250 steps cfg 7; Turbo (dmd_sample_steps) -> 4-step DMD
        without CFG; other rectified-flow models -> Euler 50 steps cfg 6. A model folder can set its own
        (`generation_defaults` in audiox.json)."""
        if self._defaults is not None:
            return self._defaults
        if self.model.objective == "v":
            return Defaults("dpmpp-3m-sde", 250, 7.0)
        training = self.model.config.training or {}
        if "dmd_sample_steps" in training:
            return Defaults("dmd", int(training["dmd_sample_steps"]), 1.0, sigma_max=1.0)
        return Defaults("rf-euler", 50, 6.0, sigma_max=1.0)

    @in_stage("vae")
    def encode(self, audio: Tensor) -> Tensor:
        """audio: (B, C, S) at the model's rate -> the VAE posterior mean (B, D, L) on the device, scaled like
        the latents the sampler works in (channels fixed like a prompt)."""
        if audio.ndim != 3:
            raise InputError(f"{audio.shape=}, expected (B, C, S)")
        audio = fix_channels(audio.float(), self.model.pretransform.io_channels).to(self.device)
        with torch.no_grad():
            mean, _ = self.model.pretransform.encode_distribution(audio)
        return mean

    @in_stage("vae")
    def reconstruct(self, audio: Tensor) -> Tensor:
        """audio: (B, C, S) at the model's rate -> (B, io_channels, S): the VAE's decoding of the posterior mean
        (`encode`; windows of any length go through the pretransform's own chunking if configured). What a
        perfect generator would give after this VAE: its ceiling."""
        with torch.no_grad():
            decoded = self.model.pretransform.decode(self.encode(audio))
        decoded = decoded[..., : audio.shape[-1]].float().cpu()
        return torch.nn.functional.pad(decoded, (0, audio.shape[-1] - decoded.shape[-1]))  # (B, C, S)

    def context(self, request: GenerationRequest) -> Tensor:
        """The fused conditioning context (1, N, D) of the request's first window, as the sampler gets it
        (text, video / image and audio prompt encoded, then MAF); for diagnostics such as
        `evaluation.conditioning_gap`. Deterministic in `request.seed`, but the audio prompt's VAE draw is
        not the one a generation with that seed makes (a generation draws its initial noise first)."""
        request = prepare_request(request)
        user_audio = self._user_audio(request) if request.audio is not None else None
        source = self._inpaint_source(request, user_audio) if request.inpaint is not None else None
        window = plan_windows(request.duration_s, self.window_s, self.overlap_s)[0]
        media = self._window_media(request, window, self._window_prompt(request, [], 0, user_audio, source))
        return self._fuse(self._encode(media, 1, torch.Generator().manual_seed(request.seed)))

    def generate(self, text: str | None = None, **kwargs) -> AudioOutput:
        """Keyword form of `__call__`: `generate("dog barks", duration_s=5, seed=1)`; see GenerationRequest."""
        return self(GenerationRequest(text=text, **kwargs))

    def check(self, request: GenerationRequest) -> GenerationRequest:
        """The request as it will run, checked against the model and its media without running it: the
        model's defaults filled in, the sampler settings, the media (headers only, `prepare_request`: files,
        limits, the video's span), the inpainting range; the duration settled. Raises InputError /
        MediaError."""
        d = self.defaults
        request = request.replace(
            steps=request.steps or d.steps,
            cfg_scale=d.cfg_scale if request.cfg_scale is None else request.cfg_scale,
            sampler=request.sampler or d.sampler,
            sigma_min=request.sigma_min or d.sigma_min,
            sigma_max=request.sigma_max or d.sigma_max,
        )
        settings = self._settings(request)
        sampling_grid(self.model.objective, settings.resolved_sampler(self.model.objective), settings)
        if request.inpaint is not None and request.inpaint[1] - request.seconds_start > self.window_s + 1e-9:
            raise InputError(f"inpainting works inside one {self.window_s:.2f} s window from seconds_start; "
                             "shorten the range or pass --seconds-start near it")
        return prepare_request(request)

    @staticmethod
    def _settings(request: GenerationRequest) -> SamplerSettings:
        strength = None
        if request.init_audio is not None:
            strength = DEFAULT_INIT_STRENGTH if request.init_strength is None else request.init_strength
        return SamplerSettings(sampler=request.sampler, steps=request.steps, sigma_min=request.sigma_min,
                               sigma_max=request.sigma_max, init_strength=strength)

    def __call__(self, request: GenerationRequest, *, on_step: StepCallback | None = None) -> AudioOutput:
        """`on_step(done, total)` is called after every sampler step; total = steps x windows."""
        request = self.check(request)
        windows = plan_windows(request.duration_s, self.window_s, self.overlap_s)
        user_audio = self._user_audio(request) if request.audio is not None else None  # read once
        inpaint_source = self._inpaint_source(request, user_audio) if request.inpaint is not None else None
        init_audio = self._prepared_audio(request.init_audio, request.init_audio_sample_rate) \
            if request.init_audio is not None else None
        chunks: list[Tensor] = []
        for index, window in enumerate(windows):
            kept = kept_window(request, window, user_audio, self.sample_rate) if index > 0 else None
            if kept is not None:  # inpainting: a later window the user's audio fills entirely is not generated
                chunks.append(kept)
                continue
            prompt = self._window_prompt(request, chunks, index, user_audio, inpaint_source)
            keep = None
            if inpaint_source is not None and index == 0:
                keep = self._inpaint_keep(inpaint_source, request, user_audio.shape[-1])
            report = _step_reporter(on_step, index * request.steps, len(windows) * request.steps)
            chunks.append(self._generate_window(request, window, index, prompt, keep, init_audio, report))
        overlap = round(self.overlap_s * self.sample_rate)
        audio = crossfade_join(chunks, overlap)[..., : round(request.duration_s * self.sample_rate)]
        audio = returned_audio(request, audio.float().cpu(), user_audio, self.sample_rate)
        return AudioOutput(audio=audio, sample_rate=self.sample_rate, request=request)

    # --------------------------------------------------------------------------------------- steps

    def _window_prompt(
        self, request: GenerationRequest, chunks: list[Tensor], index: int, user_audio: Tensor | None,
        inpaint_source: Tensor | None,
    ) -> Tensor | None:
        """The audio prompt of window `index`: (C, N) from the user's audio for the first window
        (continuation: its last 10 s; inpainting: the window itself with the gap silenced); later windows get
        (B, C, N), each batch item the audio generated before it."""
        rate = self.sample_rate
        if index > 0:
            so_far = crossfade_join(chunks, round(self.overlap_s * rate))  # (B, C, S)
            return last_seconds(so_far, CONDITIONING_WINDOW_S, rate)
        if user_audio is None:
            return None
        if request.inpaint is None:
            return last_seconds(user_audio, CONDITIONING_WINDOW_S, rate)
        window = inpaint_source.clone()
        start, end = (round((s - request.seconds_start) * rate) for s in request.inpaint)
        window[:, max(start, 0) : max(end, 0)] = 0.0
        return window[:, : round(CONDITIONING_WINDOW_S * rate)]

    def _user_audio(self, request: GenerationRequest) -> Tensor:
        """The user's whole audio (C, S) at the model's rate and channel count."""
        return self._prepared_audio(request.audio, request.audio_sample_rate)

    def _prepared_audio(self, audio: str | Tensor, sample_rate: int | None) -> Tensor:
        """An audio file or tensor -> (C, S) float32 at the model's rate and channel count."""
        if isinstance(audio, Tensor):
            source, rate = audio, sample_rate
        else:
            source, rate = read_audio(audio)
        return prepare_audio_prompt(
            source, self.sample_rate, self.model.pretransform.io_channels, 0.0, source.shape[-1] / rate,
            pad="right", source_sample_rate=rate,
        )

    def _inpaint_source(self, request: GenerationRequest, audio: Tensor) -> Tensor:
        """(C, window samples) of the user's audio (C, S) from seconds_start (zeros past its end)."""
        num = self.model.pretransform.decoded_length(self.num_latent_frames)
        start = round(request.seconds_start * self.sample_rate)
        if start >= audio.shape[-1]:
            raise InputError(f"seconds_start {request.seconds_start} is past the end of the audio to inpaint")
        return crop_or_pad(audio, start, num, "right")

    def _generate_window(
        self, request: GenerationRequest, window: Window, index: int, prompt: Tensor | None,
        keep: tuple[Tensor, Tensor] | None, init_audio: Tensor | None = None, callback: Callback | None = None,
    ) -> Tensor:
        """(B, C, S_window) audio of one window; `init_audio` (C, S) at the model's rate: a variation;
        `callback` gets the sampler's per-step dicts."""
        model, batch = self.model, request.batch_size
        generator = torch.Generator().manual_seed(request.window_seed(index))
        noise = torch.randn((batch, model.config.model.io_channels, self.num_latent_frames), generator=generator)
        clock = partial(self.clock.stage, device=self.device)
        with clock("conditioners"):
            conditions = self._encode(self._window_media(request, window, prompt), batch, generator)
            context = self._fuse(conditions)
            negative = None
            if request.negative_text:
                negative = self._fuse(self._with_text(conditions, request.negative_text, batch))
        init = self._init_latents(request, window, init_audio, generator) if init_audio is not None else None
        settings = self._settings(request)
        self._placer.activate("backbone")
        with torch.no_grad(), autocast(self.device, self.dtype):
            with clock("prepare"):
                guidance = model.prepare_guidance(
                    context, cfg_scale=request.cfg_scale, negative_context=negative, reuse=self.reuse
                )
            net = partial(model.guided_velocity, guidance=guidance)
            with clock("steps"):
                latents = sample_latents(
                    net, noise.to(self.device), objective=model.objective, settings=settings, generator=generator,
                    progress=self.progress, keep=keep, init=init, callback=callback,
                )
        self._placer.activate("vae")
        with torch.no_grad(), autocast(self.device, self.precision.decode_dtype), clock("decode"):
            audio = model.decode(latents.float())  # official: the decoder runs in float32 (exact precision)
        return audio[..., : round(window.duration_s * self.sample_rate)].float()

    @staticmethod
    def _window_media(request: GenerationRequest, window: Window, prompt: Tensor | None) -> WindowMedia:
        """What the conditioners read for one window: the text, the video / image from the window's start, the
        window's audio prompt."""
        return WindowMedia(request.prompt_text(), request.visual, request.seconds_start + window.start_s, prompt)

    @in_stage("conditioners")
    def _encode(self, media: WindowMedia, batch: int, generator: torch.Generator) -> dict[str, Condition]:
        """Every conditioner, once per window -> {id: (tokens (B, T, D), mask)} on the device."""
        inputs = conditioner_inputs(self.model, media, batch_size=batch, synchformer=self.synchformer)
        inputs = {k: to_device(v, self.device) for k, v in inputs.items()}
        self._place_text_encoder()
        with torch.no_grad():
            return self.model.conditioner(
                inputs, generator=generator, reuse=self.reuse, stitch_silence=self.precision.stitch_silence
            )

    def _place_text_encoder(self) -> None:
        """T5 (outside the module tree, so `.to(device)` misses it) on the pipeline's device, in the
        precision's dtype (exact: the conditioner's own, official float16); moved or cast only when it
        differs, so pipelines of different precisions or devices can share one model."""
        for conditioner in self.model.conditioner.conditioners.values():
            if isinstance(conditioner, T5TextConditioner) and conditioner.text_encoder is not None:
                wanted = self.precision.text_encoder_dtype or conditioner.text_encoder_dtype
                first = next(conditioner.text_encoder.model.parameters())
                if first.dtype != wanted or first.device != self.device:
                    conditioner.text_encoder.model.to(device=self.device, dtype=wanted)

    @in_stage("conditioners")
    def _with_text(self, conditions: dict[str, Condition], text: str, batch: int) -> dict[str, Condition]:
        """`conditions` with the text conditioners rerun on `text` (the negative prompt); the video and audio
        conditions are reused, not read and encoded a second time."""
        out = dict(conditions)
        with torch.no_grad():
            for cond_id, conditioner in self.model.conditioner.conditioners.items():
                if isinstance(conditioner, T5TextConditioner):
                    out[cond_id] = conditioner([text] * batch)
        return out

    @in_stage("conditioners")
    def _fuse(self, conditions: dict[str, Condition]) -> Tensor:
        """MAF fusion / concatenation -> context (B, N, D)."""
        with torch.no_grad():
            context, _ = self.model.fuse(conditions)
        return context

    @in_stage("vae")
    def _inpaint_keep(self, source: Tensor, request: GenerationRequest, audio_samples: int) -> tuple[Tensor, Tensor]:
        """(init latents (B, C, L), keep mask (1, 1, L)): the VAE posterior mean of the user's window (the
        official init-audio path samples the posterior; the mean keeps the untouched audio seed-independent);
        frames outside the inpaint range that hold the user's audio (`audio_samples` long) are kept."""
        source = source[None].expand(request.batch_size, -1, -1).to(self.device)
        with torch.no_grad():
            init, _ = self.model.pretransform.encode_distribution(source)  # (B, C, L)
        frames = init.shape[-1]
        seconds_per_frame = self.model.pretransform.downsampling_ratio / self.sample_rate
        start = int((request.inpaint[0] - request.seconds_start) / seconds_per_frame)
        end = -int(-(request.inpaint[1] - request.seconds_start) // seconds_per_frame)
        keep = torch.ones(1, 1, frames, dtype=torch.bool, device=init.device)
        keep[..., max(start, 0) : min(end, frames)] = False
        have = audio_samples - round(request.seconds_start * self.sample_rate)
        audio_end = -(-have // self.model.pretransform.downsampling_ratio)  # frames holding some user audio
        keep[..., audio_end:] = False  # past the end of the user's audio: generated, not kept silence
        return init, keep

    @in_stage("vae")
    def _init_latents(
        self, request: GenerationRequest, window: Window, init_audio: Tensor, generator: torch.Generator
    ) -> Tensor:
        """(B, D, L) latents of the init audio's span for `window` (zeros past its end): a posterior draw
        from `generator`, as the official init-audio path encodes (after the conditioners' draws)."""
        num = self.model.pretransform.decoded_length(self.num_latent_frames)
        start = round((request.seconds_start + window.start_s) * self.sample_rate)
        piece = crop_or_pad(init_audio, start, num, "right")  # (C, num)
        batch = piece[None].expand(request.batch_size, -1, -1).to(self.device)
        shape = (request.batch_size, self.model.config.model.io_channels, self.num_latent_frames)
        eps = torch.randn(shape, generator=generator).to(self.device)  # drawn on the CPU generator
        with torch.no_grad():
            return self.model.pretransform.encode(batch, noise=eps)


def _step_reporter(on_step: StepCallback | None, done_before: int, total: int) -> Callback | None:
    """A sampler callback that reports (steps done over all windows, total) to `on_step`."""
    if on_step is None:
        return None
    return lambda info: on_step(min(done_before + int(info["i"]) + 1, total), total)
