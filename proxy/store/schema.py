"""Numbered SQL migrations: `migrations/NNNN_name.sql` (shared) or `NNNN_name.<dialect>.sql` (one dialect)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

VERSION_TABLE = "shadow_schema_version"
CREATE_VERSION_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
)
DIALECTS = ("sqlite", "postgres")
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgres))?\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> tuple[Migration, ...]:
    """Every migration for one dialect in version order; a dialect file wins over a shared one."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    chosen: dict[int, tuple[bool, Migration]] = {}
    folder = resources.files("proxy.store").joinpath("migrations")
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if not match or match.group(3) not in (None, dialect):
            continue
        version, specific = int(match.group(1)), match.group(3) is not None
        migration = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
        if version not in chosen or specific:
            chosen[version] = (specific, migration)
    found = tuple(chosen[v][1] for v in sorted(chosen))
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations for {dialect} are not numbered 1..n: {[m.version for m in found]}")
    return found


def latest_version(dialect: str) -> int:
    return len(migrations(dialect))


def split_statements(script: str) -> list[str]:
    """Split a script into complete statements (SQLite executes one at a time inside our transaction)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending[:60]!r}")
    return statements
