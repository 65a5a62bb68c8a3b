"""Strict reading of official `config.json` files into the dataclasses of `audiox.config.schema`.

Unknown and missing fields raise `ConfigError` with the dotted path and the file name
(`config.json: model.diffusion.config.depht: unknown field (did you mean 'depth'?)`). Inputs are never
mutated. `strict=False` ignores unknown fields (used for golden-vector fragments that carry notes).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

from audiox.config import schema
from audiox.errors import ConfigError

T = TypeVar("T")


def load_config(path: str | Path) -> schema.AudioXConfig:
    """Read and validate an official `config.json` (strict: unknown or missing fields are errors)."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    data = read_json(path, missing_hint="pass the model folder or its config.json")
    return parse_config(data, source=path.name)


def read_json(path: str | Path, *, missing_hint: str) -> Any:
    """A JSON file's content; `ConfigError` naming the file when it is missing or not valid JSON."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; {missing_hint}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid JSON ({e}); check the file") from None


def parse_config(data: dict, *, source: str = "config", strict: bool = True) -> schema.AudioXConfig:
    """Parse a whole config dict (the content of `config.json`)."""
    return parse_section(schema.AudioXConfig, data, source=source, strict=strict)


def parse_section(cls: type[T], data: Any, *, path: str = "", source: str = "config", strict: bool = True) -> T:
    """Parse one JSON subtree into dataclass `cls`; `path` is its dotted location for messages."""
    return _Reader(source=source, strict=strict).value(cls, data, path)


class _Reader:
    def __init__(self, *, source: str, strict: bool) -> None:
        self.source = source
        self.strict = strict

    def fail(self, path: str, what: str) -> ConfigError:
        return ConfigError(f"{self.source}: {path or '<root>'}: {what}")

    def value(self, tp: Any, data: Any, path: str) -> Any:
        origin = typing.get_origin(tp)
        if tp is Any:
            return data
        if dataclasses.is_dataclass(tp):
            return self.dataclass(tp, data, path)
        if origin in (Union, types.UnionType):
            return self.union(tp, data, path)
        if origin is Literal:
            if data not in typing.get_args(tp):
                choices = ", ".join(repr(a) for a in typing.get_args(tp))
                raise self.fail(path, f"{data!r} is not supported (expected one of {choices})")
            return data
        if origin is tuple:
            (item_tp, _) = typing.get_args(tp)
            if not isinstance(data, list | tuple):
                raise self.fail(path, f"expected a list, got {type(data).__name__}")
            return tuple(self.value(item_tp, v, f"{path}[{i}]") for i, v in enumerate(data))
        if origin is dict or tp is dict:
            if not isinstance(data, dict):
                raise self.fail(path, f"expected an object, got {type(data).__name__}")
            return dict(data)
        return self.scalar(tp, data, path)

    def scalar(self, tp: Any, data: Any, path: str) -> Any:
        if tp is bool:
            ok = isinstance(data, bool)
        elif tp is int:
            ok = isinstance(data, int) and not isinstance(data, bool)
        elif tp is float:
            ok = isinstance(data, int | float) and not isinstance(data, bool)
            data = float(data) if ok else data
        elif tp is str:
            ok = isinstance(data, str)
        else:
            raise self.fail(path, f"internal: unsupported field type {tp!r}")
        if not ok:
            raise self.fail(path, f"expected {tp.__name__}, got {type(data).__name__} {data!r}")
        return data

    def union(self, tp: Any, data: Any, path: str) -> Any:
        args = typing.get_args(tp)
        if data is None:
            if type(None) in args:
                return None
            raise self.fail(path, "must not be null")
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return self.value(arg, data, path)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0]) if len(errors) == 1 else self.fail(path, f"invalid value {data!r}")

    def dataclass(self, cls: type, data: Any, path: str) -> Any:
        if not isinstance(data, dict):
            raise self.fail(path, f"expected an object, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, raw in data.items():
            name = schema.JSON_ALIASES.get(key, key)
            sub = f"{path}.{key}" if path else key
            if name not in fields:
                if self.strict:
                    raise self.fail(sub, f"unknown field{_did_you_mean(key, fields)}")
                continue
            kwargs[name] = self.field(cls, name, hints[name], raw, sub, data)
        for name, f in fields.items():
            no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if name not in kwargs and no_default:
                raise self.fail(f"{path}.{name}" if path else name, "missing required field")
        return cls(**kwargs)

    def field(self, cls: type, name: str, tp: Any, raw: Any, path: str, parent: dict) -> Any:
        if cls is schema.ConditionerSpec and name == "config":
            kind = parent.get("type")
            config_cls = schema.CONDITIONER_CONFIGS.get(kind)
            if config_cls is None:
                known = ", ".join(sorted(schema.CONDITIONER_CONFIGS))
                raise self.fail(path, f"conditioner type {kind!r} is not supported (known: {known})")
            return self.value(config_cls, raw, path)
        if cls is schema.ConditionerSpec and name == "type" and raw not in schema.CONDITIONER_CONFIGS:
            known = ", ".join(sorted(schema.CONDITIONER_CONFIGS))
            raise self.fail(path, f"conditioner type {raw!r} is not supported (known: {known})")
        return self.value(tp, raw, path)


def _did_you_mean(key: str, fields: dict) -> str:
    close = difflib.get_close_matches(key, list(fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def config_to_dict(cfg: Any) -> Any:
    """Dataclass config back to a JSON-ready dict with the official key names."""
    if dataclasses.is_dataclass(cfg):
        reverse = {v: k for k, v in schema.JSON_ALIASES.items()}
        return {reverse.get(f.name, f.name): config_to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, tuple):
        return [config_to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {k: config_to_dict(v) for k, v in cfg.items()}
    return cfg
