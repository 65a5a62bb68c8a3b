"""The HTTP API through a real uvicorn server on a loopback port, with the tiny test model: submit, poll,
download, reproduce a seed, media uploads, one-line refusals, 429 when full, 32 concurrent submissions,
restarts."""

from __future__ import annotations

import io
import threading

import pytest

from tests.serving.server import SERVE_EXTRA, running, wait_done, wait_running

pytest.importorskip("fastapi", reason=SERVE_EXTRA)
pytest.importorskip("uvicorn", reason=SERVE_EXTRA)
httpx = pytest.importorskip("httpx", reason=SERVE_EXTRA)
sf = pytest.importorskip("soundfile")

from audiox.pipeline import AudioX
from audiox.serving.app import create_app
from audiox.serving.settings import ServeSettings

FAST = {"steps": 2, "duration_s": 1.0}
BLOCKER = {"text": "keeps the model busy", "steps": 1000, "duration_s": 1.0}  # cancelled by the tests


@pytest.fixture(scope="module")
def tiny_pipe(tiny_model_dir) -> AudioX:
    return AudioX.from_pretrained(tiny_model_dir)


def make_app(pipe: AudioX, root, **settings):
    return create_app(pipe, ServeSettings(results_dir=root, **settings), model_name="tiny", ui=False)


@pytest.fixture(scope="module")
def server(tiny_pipe, tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    app = make_app(tiny_pipe, root, max_upload_bytes=256 * 1024, max_duration_s=20)
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client, root


def job_folders(root) -> set[str]:
    return {p.name for p in root.iterdir() if len(p.name) == 32}


def wav(response) -> tuple:
    assert response.status_code == 200, response.text
    data, rate = sf.read(io.BytesIO(response.content), dtype="int16")
    return data, rate


def test_submit_poll_download(server):
    client, _ = server
    response = client.post("/v1/jobs", json={"text": "a dog barks", "seed": 7, **FAST})
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["state"] in ("queued", "running") and job["seed"] == 7
    status = wait_done(client, job["id"])
    assert status["state"] == "done" and status["progress"] == 1.0 and status["error"] is None
    assert status["request"]["steps"] == 2 and status["request"]["sampler"] == "dpmpp-3m-sde"  # model default
    assert status["expires"] > status["finished"]
    audio, rate = wav(client.get(status["files"]["audio"][0]))
    assert rate == 2048 and audio.shape == (2048, 2)
    png = client.get(f"/v1/jobs/{job['id']}/spectrogram")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")


def test_random_seed_is_reported_and_reproduces_the_result(server):
    client, _ = server
    first = wait_done(client, client.post("/v1/jobs", json={"text": "rain", "seed": -1, **FAST}).json()["id"])
    assert 0 <= first["seed"] < 2**32
    again = wait_done(client, client.post("/v1/jobs", json={"text": "rain", "seed": first["seed"], **FAST}).json()["id"])
    other = wait_done(client, client.post("/v1/jobs", json={"text": "rain", "seed": first["seed"] + 1, **FAST}).json()["id"])
    a, b, c = (wav(client.get(s["files"]["audio"][0]))[0] for s in (first, again, other))
    assert (a == b).all() and not (a == c).all()


def test_media_uploads_video_image_inpainting_batch(server, media):
    client, _ = server
    with open(media["video"], "rb") as video:
        job = client.post("/v1/jobs", data={"text": "engine", "steps": "2", "duration_s": "2"},
                          files={"video": ("clip.mkv", video)}).json()
    status = wait_done(client, job["id"])
    assert status["state"] == "done", status["error"]
    assert status["request"]["video"] == "video.mkv"  # the server's copy, never its path
    mp4 = client.get(status["files"]["video"][0])
    assert mp4.headers["content-type"] == "video/mp4" and len(mp4.content) > 1000
    with open(media["image"], "rb") as image:
        job = client.post("/v1/jobs", data={"steps": "2", "duration_s": "1", "batch_size": "2"},
                          files={"image": ("still.png", image)}).json()
    status = wait_done(client, job["id"])
    assert status["state"] == "done" and len(status["files"]["audio"]) == 2 and "video" not in status["files"]
    with open(media["audio"], "rb") as audio:
        job = client.post("/v1/jobs", data={"steps": "2", "duration_s": "3", "inpaint": "1.0,2.0"},
                          files={"audio": ("take.wav", audio)}).json()
    status = wait_done(client, job["id"])
    assert status["state"] == "done" and status["request"]["inpaint"] == [1.0, 2.0]
    assert wav(client.get(status["files"]["audio"][0]))[0].shape == (3 * 2048, 2)


def bad_submissions(media) -> list[tuple[str, dict, int, str]]:
    """(case, httpx keyword arguments, status, message substring)."""
    garbage = ("junk.wav", b"this is not audio" * 20)
    return [
        ("bad type", {"json": {"text": "x", "steps": "abc"}}, 422, "steps"),
        ("unknown field", {"json": {"text": "x", "stepz": 1}}, 422, "unknown field 'stepz'"),
        ("nothing given", {"json": {}}, 422, "nothing to condition on"),
        ("over the duration limit", {"json": {"text": "x", "duration_s": 100}}, 422, "limit of 20"),
        ("unknown sampler", {"json": {"text": "x", "sampler": "bogus"}}, 422, "unknown sampler"),
        ("negative seed", {"json": {"text": "x", "seed": -5}}, 422, "seed must be"),
        ("JSON not an object", {"json": [1, 2]}, 422, "object"),
        ("not JSON", {"content": b"{oops", "headers": {"content-type": "application/json"}}, 422, "not valid JSON"),
        ("plain text", {"content": b"rain", "headers": {"content-type": "text/plain"}}, 415, "multipart"),
        ("wrong suffix", {"files": {"audio": ("notes.txt", b"abc")}}, 422, "not a audio file"),
        ("corrupt audio", {"files": {"audio": garbage}}, 422, "'junk.wav'"),
        ("video too short", {"data": {"duration_s": "8"}, "files": {"video": ("clip.mkv", media["video"].read_bytes())}},
         422, "'clip.mkv': video is 4.00 s long"),
        ("upload too large", {"files": {"audio": ("big.wav", b"\0" * 300_000)}}, 413, "limit of 0.25 MB"),
        ("inpaint without audio", {"json": {"text": "x", "inpaint": [1, 2]}}, 422, "inpaint needs the audio"),
        ("media as a value", {"data": {"video": "clip.mp4"}}, 422, "must be a file upload"),
    ]


def test_bad_submissions_are_refused_with_one_line_and_leave_nothing(server, media):
    client, root = server
    before = job_folders(root)
    for case, kwargs, code, message in bad_submissions(media):
        response = client.post("/v1/jobs", **kwargs)
        detail = response.json()["detail"]
        assert response.status_code == code, (case, response.text)
        assert message in detail and "\n" not in detail and str(root) not in detail, (case, detail)
    assert job_folders(root) == before


def test_unknown_unfinished_and_cancelled_jobs(server):
    client, _ = server
    assert client.get("/v1/jobs/nope").status_code == 404
    assert client.get("/v1/jobs/" + "0" * 32 + "/audio").status_code == 404
    job = client.post("/v1/jobs", json=BLOCKER).json()
    wait_running(client, job["id"])
    not_ready = client.get(f"/v1/jobs/{job['id']}/audio")
    assert not_ready.status_code == 409 and "poll" in not_ready.json()["detail"]
    assert client.delete(f"/v1/jobs/{job['id']}").status_code == 200
    status = wait_done(client, job["id"])
    assert status["state"] == "cancelled" and status["progress"] < 1.0
    assert client.delete(f"/v1/jobs/{job['id']}").status_code == 409


def test_health_model_and_docs(server):
    client, _ = server
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["queue_size"] == 16 and health["waiting"] >= 0
    model = client.get("/v1/model").json()
    assert (model["sample_rate"], model["channels"], model["objective"]) == (2048, 2, "v")
    assert set(model["inputs"]) == {"text", "video", "image", "audio"} and "dpmpp-3m-sde" in model["samplers"]
    docs = client.get("/docs").text
    assert "/v1/jobs/{job_id}/audio" in docs and "multipart/form-data" in docs and "cdn" not in docs.lower()
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]
    assert body["multipart/form-data"]["schema"]["properties"]["video"]["format"] == "binary"
    assert "seed" in body["application/json"]["schema"]["properties"]


def submit_concurrently(client, count: int) -> list:
    """`count` submissions released at once from `count` threads; their responses."""
    barrier, responses = threading.Barrier(count), [None] * count

    def one(i: int) -> None:
        barrier.wait()
        responses[i] = client.post("/v1/jobs", json={"text": f"job {i}", "seed": i, **FAST})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return responses


def test_full_queue_answers_429_with_retry_after(tiny_pipe, tmp_path):
    with running(make_app(tiny_pipe, tmp_path, queue_size=4)) as url, httpx.Client(base_url=url, timeout=60) as client:
        blocker = client.post("/v1/jobs", json=BLOCKER).json()["id"]
        wait_running(client, blocker)  # the model is busy: exactly queue_size submissions can wait
        responses = submit_concurrently(client, 32)
        accepted = [r.json()["id"] for r in responses if r.status_code == 202]
        refused = [r for r in responses if r.status_code == 429]
        assert len(accepted) == 4 and len(refused) == 28
        assert all(int(r.headers["retry-after"]) >= 1 and "queue is full" in r.json()["detail"] for r in refused)
        client.delete(f"/v1/jobs/{blocker}")
        assert [wait_done(client, i)["state"] for i in accepted] == ["done"] * 4
        assert client.get("/v1/health").json()["completed"] == 5
        assert job_folders(tmp_path) == {blocker, *accepted}


def test_32_concurrent_submissions_are_all_accounted_for(tiny_pipe, tmp_path):
    with running(make_app(tiny_pipe, tmp_path, queue_size=8)) as url, httpx.Client(base_url=url, timeout=60) as client:
        responses = submit_concurrently(client, 32)
        assert {r.status_code for r in responses} <= {202, 429}
        accepted = [r.json()["id"] for r in responses if r.status_code == 202]
        assert len(set(accepted)) == len(accepted) >= 1
        for job_id in accepted:
            status = wait_done(client, job_id)
            assert status["state"] == "done", status["error"]
            assert wav(client.get(status["files"]["audio"][0]))[0].shape == (2048, 2)
        health = client.get("/v1/health").json()
        assert (health["completed"], health["waiting"], health["running"]) == (len(accepted), 0, 0)
        assert job_folders(tmp_path) == set(accepted)


def test_restart_keeps_finished_results_and_runs_accepted_jobs(tiny_pipe, tmp_path):
    with running(make_app(tiny_pipe, tmp_path)) as url, httpx.Client(base_url=url, timeout=60) as client:
        done = wait_done(client, client.post("/v1/jobs", json={"text": "bell", **FAST}).json()["id"])
        first_audio = client.get(done["files"]["audio"][0]).content
        blocker = client.post("/v1/jobs", json=BLOCKER).json()["id"]
        wait_running(client, blocker)
        waiting = client.post("/v1/jobs", json={"text": "knock", **FAST}).json()["id"]
    with running(make_app(tiny_pipe, tmp_path)) as url, httpx.Client(base_url=url, timeout=60) as client:
        assert client.get(f"/v1/jobs/{done['id']}").json()["state"] == "done"
        assert client.get(done["files"]["audio"][0]).content == first_audio
        wait_running(client, blocker)  # the interrupted job runs again first, in order
        assert client.get(f"/v1/jobs/{waiting}").json()["position"] == 0
        client.delete(f"/v1/jobs/{blocker}")
        assert wait_done(client, waiting)["state"] == "done"
