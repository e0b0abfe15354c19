"""platform.toml: which processes make up the local platform, in start order."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


class ManifestError(ValueError):
    """platform.toml is malformed."""


@dataclass(frozen=True)
class Process:
    """One process of the platform, started as `python -m <module> <args...>`."""

    name: str
    module: str
    env_prefix: str
    schema: str | None = None
    ports: tuple[int, ...] = ()
    ops_port: int | None = None
    ready: str = "ops"
    provides_clock: bool = False
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def importable(self) -> bool:
        """Tell whether the module can be imported by this interpreter."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False


@dataclass(frozen=True)
class Manifest:
    """The whole platform: shared settings plus processes in start order."""

    processes: tuple[Process, ...]
    database: str = "algotrade"
    url: str = "http://127.0.0.1:8080"
    docs_url: str = "http://127.0.0.1:8080/api/docs"
    clock_url: str | None = "http://127.0.0.1:8600/sim/clock"
    ops_port_base: int = 9101

    def ops_port(self, proc: Process) -> int:
        """Return the port of the process's /healthz /readyz /metrics server."""
        if proc.ops_port is not None:
            return proc.ops_port
        return self.ops_port_base + [p.name for p in self.processes].index(proc.name)


def _process(raw: dict[str, Any]) -> Process:
    try:
        name = str(raw["name"])
        module = str(raw["module"])
    except KeyError as e:
        raise ManifestError(f"a [[process]] lacks {e.args[0]!r}") from None
    if not _NAME.match(name):
        raise ManifestError(f"process name {name!r} must be lower-case letters, digits, _")
    schema = raw.get("schema", False)
    if schema is True:
        schema = name
    if schema is not False and not (isinstance(schema, str) and _NAME.match(schema)):
        raise ManifestError(f"{name}: schema must be true, false or a lower-case name")
    prefix = str(raw.get("env_prefix", name.upper() + "_"))
    return Process(
        name=name, module=module, env_prefix=prefix, schema=schema or None,
        ports=tuple(int(p) for p in raw.get("ports", ())),
        ops_port=int(raw["ops_port"]) if "ops_port" in raw else None,
        ready=str(raw.get("ready", "ops")),
        provides_clock=bool(raw.get("provides_clock", False)),
        args=tuple(str(a) for a in raw.get("args", ())),
        env={str(k): str(v) for k, v in raw.get("env", {}).items()},
    )


def parse_manifest(data: dict[str, Any]) -> Manifest:
    """Build a Manifest from parsed TOML."""
    procs = tuple(_process(p) for p in data.get("process", []))
    names = [p.name for p in procs]
    if len(set(names)) != len(names):
        raise ManifestError("process names must be unique")
    plat = data.get("platform", {})
    known = {"database", "url", "docs_url", "clock_url", "ops_port_base"}
    if extra := set(plat) - known:
        raise ManifestError(f"unknown [platform] keys: {sorted(extra)}")
    return Manifest(processes=procs, **plat)


def load_manifest(path: Path) -> Manifest:
    """Read and check platform.toml."""
    with path.open("rb") as f:
        return parse_manifest(tomllib.load(f))
