"""Serve a web UI and a JSON HTTP API for one model: `audiox serve`, then open http://127.0.0.1:7860/.

The model is loaded once; the browser UI (/) and API clients (/v1/jobs, documented at /docs) share one
bounded job queue that runs jobs in order. Results (WAV, spectrogram, muxed video) are written under
--results-dir and kept for --keep-hours, also across restarts. Binds to 127.0.0.1 (this machine only)
unless --host says otherwise. Needs the serve extra: pip install -e ".[serve]".

Examples:
  audiox serve                                  (the shipped model on http://127.0.0.1:7860/)
  audiox serve --model AudioX/ --device cuda --queue-size 32
  audiox serve --host 0.0.0.0 --port 8000       (reachable from other machines: your choice)
  curl -s -X POST localhost:7860/v1/jobs -H 'content-type: application/json' -d '{"text": "rain"}'
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    from audiox.serving.settings import default_results_dir

    p.add_argument("--model", type=Path, help="model folder (default: the small model shipped in the package)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--queue-size", type=int, default=16, help="jobs that may wait; beyond that: HTTP 429")
    p.add_argument("--workers", type=int, default=1,
                   help="threads writing finished results while the model runs the next job")
    p.add_argument("--results-dir", type=Path, default=default_results_dir(), help="where job folders live")
    p.add_argument("--keep-hours", type=float, default=24.0, help="how long finished results are kept")
    p.add_argument("--max-upload-mb", type=float, default=100.0, help="largest upload / request body")
    p.add_argument("--max-duration", type=float, default=60.0, help="longest duration one job may ask for (s)")
    p.add_argument("--max-batch", type=int, default=8, help="most variations one job may ask for")
    p.add_argument("--max-steps", type=int, default=1000, help="most sampler steps one job may ask for")
    p.add_argument("--no-ui", action="store_true", help="serve the HTTP API only (no Gradio page)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--t5", type=Path, help="local T5 folder (default: <model>/t5-base, then the HF cache)")
    p.add_argument("--synchformer", type=Path, help="synchformer_state_dict.pth (default: in the model folder)")


def run(args: argparse.Namespace) -> int:
    from audiox.pipeline import AudioX
    from audiox.serving.app import create_app, require_serve_extra
    from audiox.serving.settings import ServeSettings

    require_serve_extra(ui=not args.no_ui)  # before the model load
    settings = ServeSettings(
        results_dir=args.results_dir, queue_size=args.queue_size, workers=args.workers,
        keep_s=args.keep_hours * 3600, max_upload_bytes=int(args.max_upload_mb * 2**20),
        max_duration_s=args.max_duration, max_batch_size=args.max_batch, max_steps=args.max_steps,
    )
    pipe = AudioX.from_pretrained(args.model, device=args.device, t5=args.t5, synchformer=args.synchformer)
    model_name = str(args.model) if args.model is not None else "shipped"
    app = create_app(pipe, settings, model_name=model_name, ui=not args.no_ui)
    import uvicorn

    if not getattr(args, "quiet", False):
        print(f"audiox serve: {model_name} model on http://{args.host}:{args.port}/ (API docs: /docs); "
              f"results in {settings.results_dir}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if getattr(args, "quiet", False) else "info")
    return 0
