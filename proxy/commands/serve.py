"""`shadow-proxy serve`: run the proxy and its admin server with a validated Config."""

from __future__ import annotations

from collections.abc import Callable

from config.model import Config
from proxy.server import run


def run_serve(config: Config, reload: Callable[[], Config] | None = None) -> int:
    """Serve until SIGTERM or SIGINT, drain, flush the store; the exit status (0 on a clean stop).

    `reload` reads the config again (the file with the same command-line overrides), for SIGHUP and
    POST /reload; None when there is no file to reload.
    """
    return run(config, reload)
