"""Progress on stderr: a redrawn bar with rate and ETA on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 28
TTY_INTERVAL = 0.25  # seconds between redraws on a terminal
PLAIN_INTERVAL = 10.0  # seconds between lines in a log


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def describe(job: str, done: int, total: int, elapsed: float, width: int | None = BAR_WIDTH) -> str:
    """One progress line: documents checked, total when known, rate, ETA (and a bar when `width`)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    head = f"{job}: {done:,}"
    if total > 0:
        fraction = min(done / total, 1.0)
        eta = _duration((total - done) / rate) if rate > 0 and done < total else "--:--"
        bar = ""
        if width:
            filled = int(fraction * width)
            bar = "[" + "#" * filled + "." * (width - filled) + "] "
        return f"{bar}{head}/{total:,} ({fraction:.0%}) {rate:,.0f} docs/s ETA {eta}"
    return f"{head} docs {rate:,.0f} docs/s elapsed {_duration(elapsed)}"


class Progress:
    """Reports one job's progress from two readings: documents checked so far and the expected total."""

    def __init__(
        self, stream: TextIO, tty: bool | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self.interval = TTY_INTERVAL if self.tty else PLAIN_INTERVAL

    def begin(self, job: str, source: str, target: str) -> None:
        """Say what is being read, once both sides are open."""
        self.stream.write(f"{job}: reading {source} and {target}\n")
        self.stream.flush()

    def show(self, job: str, done: int, total: int, elapsed: float) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + describe(job, done, total, elapsed))
        else:
            self.stream.write(describe(job, done, total, elapsed, width=None) + "\n")
        self.stream.flush()

    def finish(self, job: str, done: int, total: int, elapsed: float) -> None:
        """The last reading; on a terminal it ends the redrawn line."""
        self.show(job, done, total, elapsed)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    async def follow(self, job: str, done: Callable[[], int], total: Callable[[], int]) -> None:
        """Report until cancelled; the caller cancels it when the job ends, then calls `finish`."""
        started = self.clock()
        while True:
            await asyncio.sleep(self.interval)
            self.show(job, done(), total(), self.clock() - started)
