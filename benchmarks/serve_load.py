"""Load an `audiox serve` server on this machine with N concurrent jobs; print throughput, latency
percentiles, queue waits and how many submissions were refused (429).

    audiox serve --no-ui &                                   # then:
    python benchmarks/serve_load.py --jobs 16 --concurrency 16 --steps 25 --duration 10
    python benchmarks/serve_load.py --start --queue-size 4 --jobs 8    # starts and stops its own server

Loopback only (the server must be on 127.0.0.1 / localhost); bounded (at most 256 jobs, 64 threads, and
--timeout seconds per job). Refused jobs are counted, not retried. Times: latency = submit -> done seen by
the client; queue wait = accepted -> started and run = started -> finished (the server's clocks).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def call(url: str, data: dict | None = None) -> tuple[int, dict]:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def one_job(base: str, fields: dict, timeout_s: float, barrier: threading.Barrier, out: list) -> None:
    barrier.wait()
    submitted = time.time()
    code, job = call(f"{base}/v1/jobs", fields)
    if code != 202:
        out.append({"code": code, "detail": job.get("detail", "")})
        return
    while time.time() - submitted < timeout_s:
        _, status = call(f"{base}/v1/jobs/{job['id']}")
        if status["state"] in ("done", "failed", "cancelled"):
            out.append({"code": code, "state": status["state"], "latency": time.time() - submitted,
                        "wait": status["started"] - status["created"], "run": status["finished"] - status["started"],
                        "finished": status["finished"], "submitted": submitted})
            return
        time.sleep(0.1)
    out.append({"code": code, "state": "timeout"})


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def report(results: list[dict], duration_s: float) -> None:
    done = [r for r in results if r.get("state") == "done"]
    refused = sum(r["code"] == 429 for r in results)
    other = [r for r in results if r["code"] not in (202, 429) or r.get("state") not in (None, "done")]
    print(f"jobs {len(results)}: done {len(done)}, refused with 429 {refused}, other {len(other)}")
    for r in other[:5]:
        print(f"  {r}")
    if not done:
        return
    span = max(r["finished"] for r in done) - min(r["submitted"] for r in done)
    print(f"throughput {len(done) / span:.3f} jobs/s, {len(done) * duration_s / span:.2f} s of audio per s "
          f"(first submit -> last finish {span:.1f} s)")
    for name in ("latency", "wait", "run"):
        values = [r[name] for r in done]
        print(f"{name:8s} p50 {percentile(values, 50):7.2f} s   p95 {percentile(values, 95):7.2f} s   "
              f"max {max(values):7.2f} s")


@contextmanager
def own_server(args: argparse.Namespace):
    """`audiox serve --no-ui` on a free loopback port with a temporary results folder."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as results:
        command = [sys.executable, "-m", "audiox.cli.main", "--quiet", "serve", "--no-ui", "--port", str(port),
                   "--queue-size", str(args.queue_size), "--results-dir", results]
        proc = subprocess.Popen(command + (["--model", args.model] if args.model else []))
        base = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    if call(f"{base}/v1/health")[0] == 200:
                        break
                except OSError:
                    if proc.poll() is not None:
                        raise SystemExit("the server exited while starting") from None
                    time.sleep(0.5)
            yield base
        finally:
            proc.terminate()
            proc.wait(60)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:7860", help="a running server (loopback only)")
    p.add_argument("--start", action="store_true", help="start `audiox serve --no-ui` for the run, stop it after")
    p.add_argument("--model", help="with --start: model folder (default: the shipped model)")
    p.add_argument("--queue-size", type=int, default=16, help="with --start: the server's --queue-size")
    p.add_argument("--jobs", type=int, default=16)
    p.add_argument("--concurrency", type=int, default=16, help="submitting threads, released together")
    p.add_argument("--text", default="two knocks then a bell")
    p.add_argument("--steps", type=int, default=None, help="default: the model's")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds one job may take, queue included")
    args = p.parse_args()
    if not (1 <= args.jobs <= 256 and 1 <= args.concurrency <= 64):
        raise SystemExit("--jobs must be 1..256 and --concurrency 1..64")
    host = urllib.parse.urlparse(args.url).hostname
    if not args.start and host not in LOOPBACK:
        raise SystemExit(f"{args.url}: this benchmark only loads servers on this machine ({', '.join(LOOPBACK)})")
    fields = {"text": args.text, "duration_s": args.duration, **({"steps": args.steps} if args.steps else {})}
    with own_server(args) if args.start else _given(args.url) as base:
        _, model = call(f"{base}/v1/model")
        print(f"server {base}: model {model['name']} on {model['device']}, queue size {model['limits']['queue_size']}; "
              f"{args.jobs} jobs of {args.duration:g} s, {args.concurrency} at once, steps {args.steps or 'default'}")
        results: list[dict] = []
        for first in range(0, args.jobs, args.concurrency):
            batch = min(args.concurrency, args.jobs - first)
            barrier = threading.Barrier(batch)
            threads = [threading.Thread(target=one_job, args=(base, {**fields, "seed": first + i}, args.timeout,
                                                              barrier, results)) for i in range(batch)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        report(results, args.duration)


@contextmanager
def _given(url: str):
    yield url.rstrip("/")


if __name__ == "__main__":
    main()
