"""`shadow-proxy serve`: run the proxy and its admin server with a validated Config."""

from __future__ import annotations

from config.model import Config
from proxy.server import run


def run_serve(config: Config) -> int:
    """Serve until SIGTERM or SIGINT, drain, flush the store; the exit status (0 on a clean stop)."""
    return run(config)
