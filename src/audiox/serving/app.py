"""One FastAPI app: the JSON API under /v1, its docs at /docs (offline) and /openapi.json, and the Gradio
web UI mounted at /. Starting the app starts the job queue; stopping it leaves unfinished jobs on disk."""

from __future__ import annotations

import importlib.util
import os
from contextlib import asynccontextmanager

from audiox.errors import ConfigError
from audiox.pipeline import AudioX
from audiox.serving.settings import SERVE_EXTRA_HINT, ServeSettings

SERVE_MODULES = ("fastapi", "uvicorn", "gradio")


def require_serve_extra(ui: bool = True) -> None:
    """A one-line ConfigError naming the extra when fastapi / uvicorn / gradio are missing."""
    missing = [m for m in SERVE_MODULES if (ui or m != "gradio") and importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"audiox serve needs {', '.join(missing)}: install the serve extra with {SERVE_EXTRA_HINT}")


def create_app(pipe: AudioX, settings: ServeSettings, *, model_name: str, ui: bool = True):
    """The app serving `pipe`; the queue runs while the app is up (its lifespan)."""
    require_serve_extra(ui)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no telemetry, no version check
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    from audiox.serving.api_docs import render_docs
    from audiox.serving.http_api import BodyLimit, build_router, install_error_handlers
    from audiox.serving.service import Service

    service = Service(pipe, settings, model_name=model_name)

    @asynccontextmanager
    async def lifespan(app):
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(title="audiox", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Generate sound effects and music from text, video, images and audio. Submit a "
                              "job, poll it, download the WAV.")
    app.state.service = service
    app.include_router(build_router(service))
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(render_docs(app.openapi()))

    if ui:
        _mount_ui(app, service, settings)
    return app


def _mount_ui(app, service, settings: ServeSettings) -> None:
    import gradio as gr

    from audiox.serving.gradio_ui import build_ui

    gr.mount_gradio_app(
        app, build_ui(service), path="/", allowed_paths=[str(settings.results_dir.resolve())],
        max_file_size=settings.max_upload_bytes, footer_links=[], run_history=False, ssr_mode=False,
        mcp_server=False, show_error=True, pwa=False,
    )
