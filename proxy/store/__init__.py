"""Where shadow outcomes are kept: `open_store(url)` picks SQLite or PostgreSQL by the URL's scheme."""

from __future__ import annotations

from proxy.store.base import (
    Batch,
    Example,
    RouteTotals,
    SchemaTooNew,
    Store,
    StoreError,
    StoreUnavailable,
    Window,
    WriteResult,
)

SQLITE_PREFIX = "sqlite:///"
SQLITE_MEMORY = "sqlite://:memory:"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def open_store(url: str, *, create: bool = True) -> Store:
    """A store for `sqlite:///PATH`, `sqlite://:memory:` or `postgresql://…`; connects lazily (no I/O here).

    `create=False` (readers such as the report) refuses to create a missing SQLite file.
    Raises StoreError for a URL it does not understand.
    """
    if url == SQLITE_MEMORY:
        from proxy.store.sqlite import MEMORY, SqliteStore

        return SqliteStore(MEMORY)
    if url.startswith(SQLITE_PREFIX):
        from proxy.store.sqlite import SqliteStore

        path = url[len(SQLITE_PREFIX) :]
        if not path:
            raise StoreError(f"{url!r}: expected sqlite:///PATH")
        return SqliteStore(path, create=create)
    if url.startswith(POSTGRES_PREFIXES):
        from proxy.store.postgres import PostgresStore

        return PostgresStore(url)
    raise StoreError(
        f"unknown store URL {url!r}: expected sqlite:///PATH, sqlite://:memory: or postgresql://…"
    )


__all__ = [
    "Batch",
    "Example",
    "RouteTotals",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Window",
    "WriteResult",
    "open_store",
]
