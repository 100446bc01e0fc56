"""shadow-proxy as a child process of a harness (the demo, the benchmark): command line, store, start."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from examples.simple.processes import Child, ChildGroup, free_port, wait_until_healthy

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class ProxyEndpoints:
    """Where one proxy run listens and stores."""

    port: int
    admin_port: int
    store_path: Path

    @classmethod
    def fresh(cls, out_dir: Path) -> ProxyEndpoints:
        """Two free ports and an empty SQLite store under `out_dir`."""
        return cls(free_port(), free_port(), fresh_store(out_dir))

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.admin_port}"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.store_path}"


def shadow_proxy(*args: str) -> list[str]:
    """The command line for the shadow-proxy CLI, run by this interpreter."""
    return [sys.executable, "-m", "proxy.cli", *args]


def fresh_store(out_dir: Path) -> Path:
    """The path of an SQLite store under `out_dir`, with any earlier run's files removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    store = out_dir.resolve() / "shadow.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        store.with_name(store.name + suffix).unlink(missing_ok=True)
    return store


def start_proxy(
    group: ChildGroup,
    endpoints: ProxyEndpoints,
    upstreams: dict[str, str],
    log_path: Path,
    config: Path | None = None,
) -> Child:
    """`shadow-proxy serve` with `upstreams` ({"legacy": url, ...}); returns once /healthz answers 200."""
    argv = shadow_proxy(
        "serve",
        *([f"--config={config}"] if config else []),
        *(f"--{role}={url}" for role, url in upstreams.items()),
        f"--listen={HOST}:{endpoints.port}",
        f"--admin-listen={HOST}:{endpoints.admin_port}",
        f"--store={endpoints.store_url}",
    )
    proxy = group.start("shadow-proxy", argv, log_path)
    wait_until_healthy(proxy, endpoints.admin_url + "/healthz")
    return proxy
