"""The result of `audiox eval`: one row per metric, the embedders (names, weight hashes) and the counts,
as a printed table and a JSON-ready dict."""

from __future__ import annotations

from dataclasses import dataclass, field

from audiox.evaluation.embedders.base import EmbedderInfo


@dataclass(frozen=True, kw_only=True, slots=True)
class MetricResult:
    metric: str  # fad, fd, kl_softmax, kl_sigmoid, is, clap, desync
    value: float
    embedder: str
    count: str  # what the value was computed over, e.g. "20 gen / 20 ref clips"
    details: dict[str, float] = field(default_factory=dict)  # e.g. {"std": ...} for IS

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "value": self.value,
            "embedder": self.embedder,
            "count": self.count,
            **self.details,
        }


LABELS = {
    "fad": "FAD",
    "fd": "FD",
    "kl_softmax": "KL (softmax)",
    "kl_sigmoid": "KL (sigmoid)",
    "is": "IS",
    "clap": "CLAP score",
    "desync": "DeSync (s)",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalReport:
    results: tuple[MetricResult, ...]
    embedders: tuple[EmbedderInfo, ...]
    counts: dict[str, int]
    settings: dict[str, object]

    def table(self) -> str:
        rows = [("metric", "value", "embedder", "over")]
        for r in self.results:
            value = f"{r.value:.4f}" + (f" +- {r.details['std']:.4f}" if "std" in r.details else "")
            rows.append((LABELS.get(r.metric, r.metric), value, r.embedder, r.count))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        c = self.counts
        if "cache_hits" in c:
            lines.append(f"files: {c['generated']} generated, {c['reference']} reference, {c['paired']} "
                         f"paired; embedding cache: {c['cache_hits']} hits, {c['cache_misses']} misses")
        for info in self.embedders:
            source = info.checkpoint or "built in"
            lines.append(f"embedder {info.name}: {source} sha256 {info.sha256[:16]} at {info.sample_rate} Hz")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "metrics": {r.metric: r.to_dict() for r in self.results},
            "embedders": {info.name: info.to_dict() for info in self.embedders},
            "counts": dict(self.counts),
            "settings": dict(self.settings),
        }
