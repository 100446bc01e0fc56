"""Child processes for the demo and the benchmark: free ports, start with a log, wait for health, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]
POLL_INTERVAL = 0.05


class StartupError(RuntimeError):
    """A child process died or never became healthy; the message carries the end of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free right now (another program could take it first; rare on a quiet host)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Child:
    """One started process and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def is_running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit code."""
        if self.is_running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_child(name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> Child:
    """Start `argv` from the repository root in its own session, so Ctrl-C reaches only us and we stop it."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=child_env,
            start_new_session=True,
        )
    return Child(name, process, log_path)


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """The status `url` answers with, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return None


def wait_until_healthy(child: Child, url: str, timeout: float = 20.0) -> None:
    """Poll `url` until it answers 200; raise StartupError if the child exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.is_running():
            raise StartupError(f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}")
        if http_status(url) == 200:
            return
        time.sleep(POLL_INTERVAL)
    raise StartupError(f"{child.name} not healthy at {url} after {timeout:.0f} s:\n{child.log_tail()}")


@dataclass
class ChildGroup:
    """Started children, stopped in reverse order when the `with` block ends, however it ends."""

    children: list[Child] = field(default_factory=list)

    def start(
        self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None
    ) -> Child:
        child = start_child(name, argv, log_path, env)
        self.children.append(child)
        return child

    def stop_all(self) -> None:
        for child in reversed(self.children):
            child.stop()

    def __enter__(self) -> ChildGroup:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """Turn SIGTERM into SystemExit while inside, so `finally` blocks (and ChildGroup) still run."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
