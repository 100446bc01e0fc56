"""Run wrk against one URL and read its summary: requests per second, latency percentiles, errors."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


class WrkError(RuntimeError):
    """wrk failed or printed something we cannot read."""


@dataclass(frozen=True, slots=True)
class WrkSettings:
    threads: int = 1
    connections: int = 32
    seconds: int = 10  # wrk takes whole seconds

    def args(self, url: str) -> list[str]:
        duration = f"{self.seconds}s"
        return ["-t", str(self.threads), "-c", str(self.connections), "-d", duration, "--latency", url]


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors


def parse(output: str) -> WrkResult:
    """The numbers in wrk's text summary (run with --latency)."""
    rate, total = _RATE.search(output), _TOTAL.search(output)
    percentiles = {m.group(1): float(m.group(2)) * _UNITS[m.group(3)] for m in _PERCENTILE.finditer(output)}
    if rate is None or total is None or not {"50", "99"} <= percentiles.keys():
        raise WrkError(f"cannot read wrk output:\n{output}")
    non_2xx = _NON_2XX.search(output)
    sockets = _SOCKET.search(output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    return WrkResult(float(rate.group(1)), percentiles["50"], percentiles["99"], int(total.group(1)), errors)


def run(wrk: str, url: str, settings: WrkSettings) -> WrkResult:
    completed = subprocess.run(
        [wrk, *settings.args(url)], capture_output=True, text=True, timeout=settings.seconds + 60, check=False
    )
    if completed.returncode != 0:
        raise WrkError(f"wrk exited {completed.returncode}: {completed.stderr.strip() or completed.stdout}")
    return parse(completed.stdout)
