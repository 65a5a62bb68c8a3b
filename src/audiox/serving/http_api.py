"""The JSON HTTP API under /v1: submit a job, poll it, download its files, cancel it; health and model.

Errors are JSON `{"detail": "<one line>"}`: 422 bad input (fields, media, the model's checks), 413 an
upload over the limit, 415 a body that is neither JSON nor a form, 404 an unknown or expired job, 409 a
job that is not done yet, 429 (with Retry-After) a full queue.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.datastructures import UploadFile

from audiox.errors import AudioXError, InputError
from audiox.serving.api_models import ErrorDetail, Health, JobStatus, ModelInfo, submission_body_schema
from audiox.serving.jobs import QueueFull
from audiox.serving.service import Service
from audiox.serving.submission import MEDIA_SUFFIXES, UploadTooLarge

MEDIA_TYPES = {"audio": "audio/wav", "spectrogram": "image/png", "video": "video/mp4"}
ERRORS = {code: {"model": ErrorDetail} for code in (404, 409, 413, 415, 422, 429)}


def build_router(service: Service) -> APIRouter:
    router = APIRouter(prefix="/v1", responses={404: ERRORS[404]})

    @router.post("/jobs", status_code=202, response_model=JobStatus, summary="Submit a generation job",
                 responses={k: ERRORS[k] for k in (413, 415, 422, 429)},
                 openapi_extra={"requestBody": submission_body_schema()})
    async def create_job(request: Request) -> JSONResponse:
        """Send the fields of a GenerationRequest as JSON, or as form values with media uploads (video,
        image, audio) as multipart/form-data. Everything is checked before the job is queued; the job id
        comes back at once (202) with a Location to poll."""
        values, uploads, form = await _read_submission(request)
        try:
            job = await run_in_threadpool(service.submit, values, uploads)
        finally:
            if form is not None:
                await form.close()
        return JSONResponse(service.status(job.id), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})

    @router.get("/jobs/{job_id}", response_model=JobStatus, summary="A job's state, progress and files")
    def get_job(job_id: str) -> dict[str, Any]:
        return _status(service, job_id)

    @router.delete("/jobs/{job_id}", response_model=JobStatus, summary="Cancel a queued or running job",
                   responses={409: ERRORS[409]})
    def cancel_job(job_id: str) -> dict[str, Any]:
        job = service.store.get(job_id)
        if job is None or not service.queue.cancel(job):
            _status(service, job_id)  # 404 when unknown
            raise HTTPException(409, "the job has already finished")
        return _status(service, job_id)

    for kind, media_type in MEDIA_TYPES.items():
        router.add_api_route(f"/jobs/{{job_id}}/{kind}", _file_route(service, kind), methods=["GET"],
                             summary=f"Download a finished job's {kind}", response_class=FileResponse,
                             responses={200: {"content": {media_type: {}}}, 409: ERRORS[409]})

    @router.get("/health", response_model=Health, summary="Is the server up; how full is its queue")
    def health() -> dict[str, Any]:
        return service.health()

    @router.get("/model", response_model=ModelInfo, summary="The loaded model: inputs, rate, samplers, limits")
    def model() -> dict[str, Any]:
        return service.model_info()

    return router


def _status(service: Service, job_id: str) -> dict[str, Any]:
    status = service.status(job_id)
    if status is None:
        raise HTTPException(404, f"no job {job_id!r}: unknown, or its results have expired")
    return status


def _file_route(service: Service, kind: str):
    def download(job_id: str, index: int = Query(0, ge=0, description="which variation")) -> FileResponse:
        path = service.file(job_id, kind, index)
        if path is None:
            status = _status(service, job_id)
            if status["state"] != "done":
                raise HTTPException(409, f"job is {status['state']} ({status['progress']:.0%}); "
                                         f"poll GET /v1/jobs/{job_id} until it is done")
            raise HTTPException(404, f"job {job_id} has no {kind} #{index}")
        filename = f"audiox_{job_id[:8]}_{index}{path.suffix}"
        return FileResponse(path, media_type=MEDIA_TYPES[kind], filename=filename)

    return download


async def _read_submission(request: Request) -> tuple[dict[str, Any], dict[str, tuple[str, BinaryIO]], Any]:
    """(field values, {kind: (file name, file)}, the form to close) from a JSON or form body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            values = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            raise InputError(f"the body is not valid JSON ({exc})") from None
        if not isinstance(values, dict):
            raise InputError("the JSON body must be an object of request fields, e.g. {\"text\": \"rain\"}")
        return values, {}, None
    if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise HTTPException(415, "send the request fields as application/json, or as multipart/form-data "
                                 "with media uploads")
    form = await request.form(max_files=len(MEDIA_SUFFIXES), max_fields=64)
    values: dict[str, Any] = {}
    uploads: dict[str, tuple[str, BinaryIO]] = {}
    for key, value in form.multi_items():
        if key in values or key in uploads:
            await form.close()
            raise InputError(f"field {key!r} given twice")
        if isinstance(value, UploadFile):
            uploads[key] = (value.filename or "", value.file)
        elif key in MEDIA_SUFFIXES:
            await form.close()
            raise InputError(f"{key} must be a file upload (curl: -F '{key}=@FILE')")
        else:
            values[key] = value
    return values, uploads, form


def install_error_handlers(app: FastAPI) -> None:
    """One-line JSON errors for everything the API refuses."""

    @app.exception_handler(QueueFull)
    async def _queue_full(request: Request, exc: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 429, headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(AudioXError)
    async def _bad_input(request: Request, exc: AudioXError) -> JSONResponse:
        code = 413 if isinstance(exc, UploadTooLarge) else 422
        return JSONResponse({"detail": f"{type(exc).__name__}: {exc}"}, code)

    @app.exception_handler(RequestValidationError)
    async def _bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return JSONResponse({"detail": f"{where}: {error['msg']}"}, 422)


class BodyLimit:
    """ASGI middleware: refuse a request body to /v1/ over `max_bytes` with 413, whether it declares its
    length or streams it, before it is spooled to disk."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise UploadTooLarge(self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return f"the request is over this server's limit of {self.max_bytes / 2**20:g} MB (audiox serve --max-upload-mb)"

    async def _refuse(self, send) -> None:
        body = json.dumps({"detail": f"UploadTooLarge: {self._message()}"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
