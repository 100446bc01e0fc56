"""The static upstream pair: one nginx, two ports (legacy, candidate), each serving its side of the files."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.payloads import Payload

# Same mtime on both sides, so nginx's ETag and Last-Modified agree and identical files compare equal.
FIXED_MTIME = 1_700_000_000

_CONF = """\
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    types {{ application/json json; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    etag off;  # the differing files differ in size; keep the difference to the bodies
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path {work}/tmp;
    server {{ listen 127.0.0.1:{legacy_port}; root {work}/legacy; }}
    server {{ listen 127.0.0.1:{candidate_port}; root {work}/candidate; }}
}}
"""


@dataclass(frozen=True, slots=True)
class StaticPair:
    """Where the generated nginx config lives and which ports it serves."""

    work_dir: Path
    legacy_port: int
    candidate_port: int

    @property
    def conf_path(self) -> Path:
        return self.work_dir / "nginx.conf"

    @property
    def legacy_url(self) -> str:
        return f"http://127.0.0.1:{self.legacy_port}"

    @property
    def candidate_url(self) -> str:
        return f"http://127.0.0.1:{self.candidate_port}"

    def command(self, nginx: str) -> list[str]:
        return [nginx, "-p", str(self.work_dir), "-c", str(self.conf_path)]


def _write(root: Path, path: str, body: bytes) -> None:
    target = root / path.lstrip("/")
    target.write_bytes(body)
    os.utime(target, (FIXED_MTIME, FIXED_MTIME))


def prepare(pair: StaticPair, payloads: tuple[Payload, ...]) -> None:
    """Write both document roots and nginx.conf under the work directory (wiping earlier runs)."""
    for side in ("legacy", "candidate", "tmp"):
        shutil.rmtree(pair.work_dir / side, ignore_errors=True)
        (pair.work_dir / side).mkdir(parents=True)
    for payload in payloads:
        _write(pair.work_dir / "legacy", payload.path, payload.legacy)
        _write(pair.work_dir / "candidate", payload.path, payload.candidate)
    conf = _CONF.format(work=pair.work_dir, legacy_port=pair.legacy_port, candidate_port=pair.candidate_port)
    pair.conf_path.write_text(conf, encoding="utf-8")
