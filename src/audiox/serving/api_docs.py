"""/docs: the API's OpenAPI schema as one plain HTML page, rendered on the server.

FastAPI's own /docs page loads Swagger UI from a CDN, which an offline machine cannot reach; this page needs
nothing but the server. The machine-readable schema stays at /openapi.json.
"""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em}code,pre{background:#f4f4f4;padding:.1em .3em}
pre{padding:.6em;overflow-x:auto}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}.m{font-weight:bold}"""

EXAMPLE = """curl -s -X POST http://127.0.0.1:7860/v1/jobs -H 'content-type: application/json' \\
     -d '{"text": "two knocks then a bell", "duration_s": 5, "seed": -1}'
curl -s http://127.0.0.1:7860/v1/jobs/JOB_ID                       # poll: queued / running / done
curl -s -o out.wav http://127.0.0.1:7860/v1/jobs/JOB_ID/audio      # the WAV
curl -s -X POST http://127.0.0.1:7860/v1/jobs -F text='rain on a roof' -F video=@clip.mp4   # with media"""


def render_docs(schema: dict[str, Any]) -> str:
    """The whole page for an OpenAPI 3 `schema`."""
    info = schema["info"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(info['title'])} API</title>",
             f"<style>{STYLE}</style></head><body><h1>{escape(info['title'])} HTTP API</h1>",
             f"<p>{escape(info.get('description', ''))}</p>",
             "<p>Machine-readable schema: <a href='/openapi.json'>/openapi.json</a>. Web UI: <a href='/'>/</a>.</p>",
             f"<h2>Example</h2><pre>{escape(EXAMPLE)}</pre>"]
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            parts.append(_operation(path, method, op))
    parts.append("</body></html>")
    return "\n".join(parts)


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    out = [f"<h2><span class='m'>{method.upper()}</span> <code>{escape(path)}</code></h2>",
           f"<p>{escape(op.get('summary', ''))}</p>"]
    if op.get("description"):
        out.append(f"<p>{escape(op['description'])}</p>")
    params = op.get("parameters", [])
    if params:
        rows = [(p["name"], p["in"], _type(p.get("schema", {})), p.get("description", "")) for p in params]
        out.append(_table(("parameter", "in", "type", "description"), rows))
    for content_type, body in op.get("requestBody", {}).get("content", {}).items():
        props = body.get("schema", {}).get("properties", {})
        rows = [(name, _type(prop), _default(prop), prop.get("description", "")) for name, prop in props.items()]
        out.append(f"<p>Body as <code>{escape(content_type)}</code>:</p>")
        out.append(_table(("field", "type", "default", "description"), rows))
    rows = [(code, resp.get("description", "")) for code, resp in op.get("responses", {}).items()]
    out.append(_table(("response", "meaning"), rows))
    return "\n".join(out)


def _type(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " | ".join(_type(option) for option in prop["anyOf"])
    if prop.get("format") == "binary":
        return "file"
    if "enum" in prop:
        return " | ".join(repr(value) for value in prop["enum"])
    if prop.get("type") == "array" and "prefixItems" in prop:
        return "[" + ", ".join(_type(item) for item in prop["prefixItems"]) + "]"
    return str(prop.get("type", "object"))


def _default(prop: dict[str, Any]) -> str:
    return "" if "default" not in prop else "null" if prop["default"] is None else str(prop["default"])


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
