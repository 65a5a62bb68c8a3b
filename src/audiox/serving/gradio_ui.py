"""The web UI (Gradio Blocks): every task of `audiox generate` in one page, running through the same job
queue as the HTTP API, so the browser and API clients share the one model in order."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import gradio as gr

from audiox.errors import AudioXError
from audiox.serving.examples import PROMPTS, example_media
from audiox.serving.jobs import QueueFull
from audiox.serving.service import Service
from audiox.serving.settings import ServeSettings
from audiox.serving.store import FINAL_STATES

POLL_S = 0.2
PLAIN_PLAYER = gr.WaveformOptions(show_recording_waveform=False)  # the browser's own <audio controls> player
EXAMPLE_FIELDS = ("prompt", "video", "image", "audio", "inpaint", "inpaint_start", "inpaint_end", "task", "duration")
INTRO = ("Generate sound effects and music from text, a video or image, and/or an audio clip. "
         "The same server answers the JSON API: see [/docs](/docs).")


def build_ui(service: Service) -> gr.Blocks:
    """The page: inputs on the left, the result (player, spectrogram, downloads, seed) on the right."""
    info = service.model_info()
    keep_s = int(service.settings.keep_s)  # Gradio's copies of results go when the results do
    with gr.Blocks(title="audiox", analytics_enabled=False, delete_cache=(min(3600, keep_s), keep_s)) as ui:
        gr.Markdown(f"# audiox\n{INTRO}\n\nModel: `{info['name']}` · {info['sample_rate']} Hz · "
                    f"{'mono' if info['channels'] == 1 else 'stereo'} · inputs: {', '.join(info['inputs'])}")
        with gr.Row():
            with gr.Column():
                inputs = _inputs(info, service.settings)
                button = gr.Button("Generate", variant="primary", elem_id="generate")
            with gr.Column():
                outputs = _outputs()
        _examples(service, [inputs[name] for name in EXAMPLE_FIELDS])
        button.click(_generate_fn(service), list(inputs.values()), outputs,
                     concurrency_limit=None)  # the job queue bounds the work, not Gradio's queue
    return ui


def _inputs(info: dict[str, Any], limits: ServeSettings) -> dict[str, gr.components.Component]:
    """The request's widgets, in the order `generate` takes them."""
    defaults = info["defaults"]
    c: dict[str, gr.components.Component] = {}
    c["prompt"] = gr.Textbox(label="Prompt", lines=2, elem_id="prompt", placeholder="e.g. two knocks then a bell")
    c["negative"] = gr.Textbox(label="Negative prompt", elem_id="negative")
    with gr.Tab("Video"):
        c["video"] = gr.Video(label="Video (video-to-audio / video-to-music)", sources=["upload"])
    with gr.Tab("Image"):
        c["image"] = gr.Image(label="Image (image-to-audio)", type="filepath", sources=["upload"])
    with gr.Tab("Audio prompt"):
        c["audio"] = gr.Audio(label="Audio to continue, or to inpaint", type="filepath", sources=["upload"])
        c["inpaint"] = gr.Checkbox(label="Inpaint the range below (else: continue the audio)")
        with gr.Row():
            c["inpaint_start"] = gr.Number(2.0, label="Inpaint from (s)")
            c["inpaint_end"] = gr.Number(4.0, label="to (s)")
    with gr.Row():
        c["task"] = gr.Radio(["auto", "audio", "music"], value="auto", label="Task")
        c["duration"] = gr.Number(10.0, label="Duration (s)", minimum=0.1, maximum=limits.max_duration_s)
        c["start"] = gr.Number(0.0, label="Start in the video / audio (s)", minimum=0)
    with gr.Row():
        c["steps"] = gr.Number(defaults["steps"], label="Steps", precision=0, minimum=1, maximum=limits.max_steps,
                               elem_id="steps")
        c["cfg"] = gr.Number(defaults["cfg_scale"], label="CFG scale", minimum=0)
        c["sampler"] = gr.Dropdown(info["samplers"], value=defaults["sampler"], label="Sampler")
    with gr.Row():
        c["seed"] = gr.Number(-1, label="Seed (-1 = random)", precision=0, elem_id="seed")
        c["batch"] = gr.Slider(1, limits.max_batch_size, value=1, step=1, label="Variations")
    return c


def _outputs() -> list[gr.components.Component]:
    """Status line (seed, settings, time), player, spectrogram, muxed video, downloads."""
    return [
        gr.Markdown(elem_id="status"),
        gr.Audio(label="Result", type="filepath", interactive=False, elem_id="result", buttons=["download"],
                 waveform_options=PLAIN_PLAYER),
        gr.Image(label="Spectrogram", type="filepath", interactive=False, elem_id="spectrogram",
                 buttons=["download", "fullscreen"]),
        gr.Video(label="Video with the new soundtrack", interactive=False, visible=False, buttons=["download"],
                 elem_id="muxed"),
        gr.File(label="Downloads (WAV per variation, video)", file_count="multiple", interactive=False,
                elem_id="downloads"),
    ]


def _examples(service: Service, components: list[gr.components.Component]) -> None:
    media = example_media(service.settings.results_dir / "examples", service.pipe.sample_rate)
    rows = [[text, None, None, None, False, 2.0, 4.0, task, 10.0] for text, task in PROMPTS]
    rows += [
        ["", str(media["video"]), None, None, False, 2.0, 4.0, "auto", 10.0],
        ["", None, str(media["image"]), None, False, 2.0, 4.0, "auto", 10.0],
        ["", None, None, str(media["audio"]), True, 4.0, 6.0, "auto", 10.0],
        ["A calm piano melody with bass in C major at 90 BPM.", None, None, str(media["audio"]), False, 2.0, 4.0,
         "music", 10.0],
    ]
    labels = [f"{'music' if task == 'music' else 'sound'}: {text}" for text, task in PROMPTS]
    labels += ["video to audio (a synthetic scene)", "image to audio (its still)", "inpaint 4-6 s of its sound",
               "music continuation of its sound"]
    gr.Examples(rows, components, label="Examples (click one, then Generate)", example_labels=labels)


def _generate_fn(service: Service):
    def generate(prompt, negative, video, image, audio, inpaint, inpaint_start, inpaint_end, task, duration,
                 start, steps, cfg, sampler, seed, batch, progress=gr.Progress()) -> tuple:  # noqa: B008
        values = {"text": prompt, "negative_text": negative, "task": task, "duration_s": duration,
                  "seconds_start": start, "steps": steps, "cfg_scale": cfg, "sampler": sampler,
                  "seed": -1 if seed is None else seed, "batch_size": batch,
                  "inpaint": [inpaint_start, inpaint_end] if inpaint else None}
        values = {k: v for k, v in values.items() if v is not None}
        media = {"video": video, "image": image, "audio": audio}
        job_id = _submit(service, values, {k: Path(v) for k, v in media.items() if v})
        status = _wait(service, job_id, progress)
        return _show(service, status)

    return generate


def _submit(service: Service, values: dict[str, Any], media: dict[str, Path]) -> str:
    """Queue the job as the API would; bad input and a full queue become messages in the page."""
    with contextlib.ExitStack() as files:
        uploads = {kind: (path.name, files.enter_context(open(path, "rb"))) for kind, path in media.items()}
        try:
            return service.submit(values, uploads).id
        except QueueFull as exc:
            raise gr.Error(f"The server is busy: {exc}.") from None
        except AudioXError as exc:
            raise gr.Error(f"{type(exc).__name__}: {exc}") from None


def _wait(service: Service, job_id: str, progress: gr.Progress) -> dict[str, Any]:
    while True:
        status = service.status(job_id)
        if status is None or status["state"] in FINAL_STATES:
            break
        if status["state"] == "queued":
            progress(0.0, desc=f"queued: {status['position']} job(s) ahead")
        else:
            progress(status["progress"], desc="generating")
        time.sleep(POLL_S)
    if status is None or status["state"] != "done":
        raise gr.Error(status["error"] if status else "the job's results have expired")
    return status


def _show(service: Service, status: dict[str, Any]) -> tuple:
    folder = service.store.folder(status["id"])
    job = service.store.get(status["id"])
    files = {kind: [str(folder / name) for name in names] for kind, names in job.files.items()}
    request = status["request"]
    elapsed = status["finished"] - status["started"]
    text = (f"**Seed {status['seed']}** (enter it to reproduce this result) · {request['sampler']}, "
            f"{request['steps']} steps, CFG {request['cfg_scale']:g} · {len(files['audio'])} variation(s) · "
            f"{elapsed:.1f} s · job `{status['id']}`")
    video = files.get("video", [None])[0]
    return (text, files["audio"][0], files["spectrogram"][0], gr.Video(value=video, visible=video is not None),
            files["audio"] + files.get("video", []))
