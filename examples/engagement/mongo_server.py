"""A throwaway MongoDB-compatible server (SecantusDB, in memory) for the tests and the demo.

`MONGODB_URI` in the environment means "use that server instead": nothing is started then.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

URI_ENV = "MONGODB_URI"


class MongoServerError(RuntimeError):
    """The server could not be started or did not answer in time."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def secantus_command() -> list[str]:
    """The launcher installed next to this interpreter, else the one on PATH."""
    local = Path(sys.executable).with_name("secantusd-py")
    found = str(local) if local.exists() else shutil.which("secantusd-py")
    if found is None:
        raise MongoServerError("secantusd-py not found: install secantusdb or set MONGODB_URI")
    return [found]


def ping(uri: str, timeout_s: float = 0.5) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=int(timeout_s * 1000))
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


@dataclass
class MongoServer:
    """A running SecantusDB process (or an external server when `process` is None)."""

    uri: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout_s)

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_secantus(host: str = "127.0.0.1", port: int | None = None, timeout_s: float = 30.0) -> MongoServer:
    """Start an in-memory SecantusDB on a free port and wait until pymongo can ping it."""
    port = port or free_port(host)
    log_fd, log_name = tempfile.mkstemp(prefix="secantus-", suffix=".log")
    command = [
        *secantus_command(),
        "--host",
        host,
        "--port",
        str(port),
        "--storage-path",
        ":memory:",
        "--log-level",
        "WARNING",
    ]
    process = subprocess.Popen(command, stdout=log_fd, stderr=log_fd, stdin=subprocess.DEVNULL)
    os.close(log_fd)
    server = MongoServer(f"mongodb://{host}:{port}", process, Path(log_name))
    deadline = time.monotonic() + timeout_s
    while not ping(server.uri):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise MongoServerError(f"SecantusDB did not start on {server.uri}:\n{server.log_tail()}")
        time.sleep(0.2)
    return server


@contextlib.contextmanager
def running_mongo() -> Iterator[MongoServer]:
    """The server named by MONGODB_URI, else a fresh SecantusDB stopped (and its log removed) on exit."""
    external = os.environ.get(URI_ENV)
    if external:
        yield MongoServer(external)
        return
    server = start_secantus()
    try:
        yield server
    finally:
        server.stop()
        if server.log_path is not None:
            server.log_path.unlink(missing_ok=True)


def main() -> None:
    """Start a server and print its URI until interrupted (handy for running the services by hand)."""
    with running_mongo() as server:
        print(server.uri, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while server.process is None or server.process.poll() is None:
                time.sleep(1)


if __name__ == "__main__":
    main()
