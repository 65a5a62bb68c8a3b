"""The HTTP API's response bodies, as pydantic models: they document the API in its OpenAPI schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from audiox.serving.submission import JobFields


class ErrorDetail(BaseModel):
    detail: str = Field(description="what is wrong and what to do, one line")


class JobStatus(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float = Field(description="sampler steps done / total, 0..1")
    position: int | None = Field(description="jobs ahead of this one while queued (0: next)")
    error: str | None = Field(description="why the job failed, one line")
    seed: int = Field(description="the seed used (a random one when -1 was sent)")
    request: dict[str, Any] = Field(description="the request as run: every GenerationRequest field, "
                                                "the model's defaults filled in")
    created: float = Field(description="Unix time the job was accepted")
    started: float | None
    finished: float | None
    expires: float | None = Field(description="Unix time the results are deleted")
    files: dict[str, list[str]] = Field(description="kind (audio, spectrogram, video) -> download paths, "
                                                    "one per variation")


class Health(BaseModel):
    status: Literal["ok"]
    uptime_s: float
    waiting: int = Field(description="jobs in the queue")
    running: int = Field(description="jobs the model is running now (0 or 1)")
    queue_size: int = Field(description="waiting jobs beyond which submissions get 429")
    completed: int = Field(description="jobs finished (done, failed or cancelled) since the server started")


class ModelInfo(BaseModel):
    name: str
    sample_rate: int
    channels: int
    window_s: float = Field(description="seconds one generation window covers (longer runs in windows)")
    objective: str
    inputs: list[str] = Field(description="what the model can be conditioned on")
    samplers: list[str]
    device: str
    defaults: dict[str, Any] = Field(description="sampler, steps, cfg_scale, sigma_min, sigma_max")
    limits: dict[str, int | float] = Field(description="this server's limits per job and its queue size")


def submission_body_schema() -> dict[str, Any]:
    """OpenAPI requestBody of POST /v1/jobs: JSON fields, or the same fields as form values with uploads."""
    fields = JobFields.model_json_schema()
    upload = {"type": "string", "format": "binary"}
    form = {
        "type": "object",
        "properties": {
            **{name: {**prop, "type": "string"} if name == "inpaint" else prop
               for name, prop in fields["properties"].items()},
            "video": {**upload, "description": "a video to score (.mp4, .mkv, .mov, .webm, .avi)"},
            "image": {**upload, "description": "a still image (.jpg, .png, .webp, .bmp)"},
            "audio": {**upload, "description": "audio to continue, or to inpaint with `inpaint`"},
        },
    }
    return {"required": True, "content": {"application/json": {"schema": fields}, "multipart/form-data": {"schema": form}}}
