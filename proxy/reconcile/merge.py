"""Merge-joins of key-ordered batch streams: k-way merge of one side's partitions, and source against target.

Memory is bounded by a few batches per stream whatever the collection size: nothing is collected, every
record is handed to the sink as soon as its fate (missing, extra, pair) is known.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, cast

from proxy.reconcile.errors import ReconcileError
from proxy.reconcile.keys import Key, render_key

# Records joined between two turns of the event loop: the readers' sockets are only drained when the loop
# turns, and a whole batch joined in one go (tens of ms) would hold the servers' replies back meanwhile.
YIELD_EVERY = 32

Record = tuple[Key | None, Any]  # None: the record has no usable key
Batch = list[Record]
Keyed = tuple[Key, Any]


class JoinSink(Protocol):
    """Where the merge-join sends each record's fate."""

    def missing(self, key: Key, document: Any) -> None: ...  # in the source, not in the target

    def extra(self, key: Key, row: Any) -> None: ...  # in the target, not in the source

    def pair(self, key: Key, document: Any, row: Any) -> None: ...  # on both sides: compare them

    def unkeyed(self, side: str, record: Any) -> None: ...

    def duplicate(self, side: str, key: Key, record: Any) -> None: ...


async def _merged(streams: list[AsyncIterator[Batch]]) -> AsyncIterator[Batch]:
    buffers: list[tuple[Batch, AsyncIterator[Batch]]] = []
    for stream in streams:
        first: Batch | None = await anext(stream, None)
        if first is not None:
            buffers.append((first, stream))
    while len(buffers) > 1:
        # Every record up to the smallest buffered maximum is final: later batches only hold larger keys.
        bound = min(_last_key(batch) for batch, _ in buffers)
        ready = [_prefix(batch, bound) for batch, _ in buffers]
        if not any(ready):  # a partition out of order: pass it on as is, the join's order check reports it
            ready = [batch for batch, _ in buffers]
        yield list(heapq.merge(*ready, key=_sort_key))
        refilled = []
        for (batch, stream), taken in zip(buffers, ready, strict=True):
            rest = batch[len(taken) :]
            if not rest:
                following: Batch | None = await anext(stream, None)
                rest = following or []
            if rest:
                refilled.append((rest, stream))
        buffers = refilled
    if buffers:
        batch, stream = buffers[0]
        yield batch
        async for batch in stream:
            yield batch


async def merge_ordered(streams: list[AsyncIterator[Batch]]) -> AsyncIterator[Batch]:
    """One key-ordered batch stream out of several (one per MongoDB key type); unkeyed records pass."""
    try:
        async for batch in _merged(streams):
            yield batch
    finally:
        await asyncio.gather(*(close(stream) for stream in streams))


def _last_key(batch: Batch) -> Key:
    """The batch's highest key (its last keyed record's, the batch being in key order)."""
    for key, _ in reversed(batch):
        if key is not None:
            return key
    return ()


def _prefix(batch: Batch, bound: Key) -> Batch:
    """The leading records whose keys are at most `bound` (unkeyed records go along)."""
    end = 0
    while end < len(batch) and (batch[end][0] is None or batch[end][0] <= bound):  # type: ignore[operator]
        end += 1
    return batch[:end]


def _sort_key(record: Record) -> Key:
    return record[0] or ()


class _Side:
    """One side of the join: a cursor over its batches that checks the key order as it goes."""

    def __init__(self, name: str, label: str, stream: AsyncIterator[Batch], sink: JoinSink) -> None:
        self.name, self.label, self.stream, self.sink = name, label, stream, sink
        self.batch: Batch = []
        self.index = 0
        self.last: Key | None = None
        self.done = False

    async def peek(self) -> Keyed | None:
        """The next keyed record (unkeyed and duplicate ones go to the sink), or None at the end."""
        while True:
            if self.index >= len(self.batch) and not await self._refill():
                return None
            record = self.batch[self.index]
            key = record[0]
            if key is not None and (self.last is None or key > self.last):
                return cast(Keyed, record)
            self.index += 1
            if key is None:
                self.sink.unkeyed(self.name, record[1])
            elif key == self.last:
                self.sink.duplicate(self.name, key, record[1])
            else:
                raise ReconcileError(_order_error(self.label, key, self.last))

    def take(self, key: Key) -> None:
        self.index += 1
        self.last = key

    async def _refill(self) -> bool:
        if self.done:
            return False
        await asyncio.sleep(0)  # let the prefetching readers send their next request meanwhile
        batch = await anext(self.stream, None)
        if batch is None:
            self.done = True
            return False
        self.batch, self.index = batch, 0
        return True


def _order_error(label: str, key: Key, last: Key | None) -> str:
    return (
        f"{label} returned key {render_key(key)!r} after {render_key(last or ())!r}: "
        "its order does not match the key order (text keys by code point, ObjectIds as lowercase hex; "
        "see the README, Verify the stores: a non-simple collection collation, or mixed-case keys "
        "without lowercase = true, cause this)"
    )


async def merge_join(
    source: tuple[str, AsyncIterator[Batch]],
    target: tuple[str, AsyncIterator[Batch]],
    sink: JoinSink,
    stopped: Callable[[], bool] = lambda: False,
) -> None:
    """Join two key-ordered streams, telling the sink every record's fate (the sink counts what was read).

    `stopped` is polled between records: when it returns True the join ends early (Ctrl-C), and what was
    sent to the sink so far is exactly what was checked.
    """
    left = _Side("source", source[0], source[1], sink)
    right = _Side("target", target[0], target[1], sink)
    steps = 0
    try:
        while not stopped():
            steps += 1
            if steps % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the readers drain their sockets while the join works
            a, b = await left.peek(), await right.peek()
            if a is None and b is None:
                break
            if a is not None and (b is None or a[0] < b[0]):
                sink.missing(a[0], a[1])
                left.take(a[0])
            elif b is not None and (a is None or b[0] < a[0]):
                sink.extra(b[0], b[1])
                right.take(b[0])
            elif a is not None and b is not None:
                sink.pair(a[0], a[1], b[1])
                left.take(a[0])
                right.take(b[0])
    finally:
        await asyncio.gather(close(source[1]), close(target[1]))


async def close(stream: AsyncIterator[Any]) -> None:
    """Finish a stream read only partly (stopped, failed), so its cursors and tasks end now, not at exit."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


async def prefetch(stream: AsyncIterator[Batch], depth: int = 4) -> AsyncIterator[Batch]:
    """Read `stream` ahead in its own task, at most `depth` batches ahead (flat memory, overlapped I/O)."""
    queue: asyncio.Queue[Batch | BaseException | None] = asyncio.Queue(maxsize=depth)

    async def pump() -> None:
        try:
            async for batch in stream:
                await queue.put(batch)
            await queue.put(None)
        except Exception as exc:  # handed to the consumer, which re-raises it in its own task
            await queue.put(exc)
        finally:
            await close(stream)  # a cancelled pump leaves `stream` suspended: end its cursor now

    task = asyncio.create_task(pump(), name="reconcile-prefetch")
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
