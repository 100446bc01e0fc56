"""The mode switcher over a real SQLite store: restarts keep switches, file edits win, no stale follow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cutover_support import config_of, rule

from config.model import Config, Mode
from proxy.modes import ModeSwitcher, ModeTable
from proxy.store.cutover import RouteModeRow
from proxy.store.sqlite import SqliteStore


class GatedStore(SqliteStore):
    """A real SQLite store whose `route_modes` can be held open, to interleave a switch with a poll."""

    gate: asyncio.Event | None = None  # set: rows are handed over; unset: the reader waits with them
    read = asyncio.Event()

    async def route_modes(self) -> list[RouteModeRow]:
        rows = await super().route_modes()
        if self.gate is not None:
            self.read.set()
            await self.gate.wait()
        return rows


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[GatedStore]:
    opened = GatedStore(str(tmp_path / "shadow.db"))
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.close()


def _config(mode: Mode) -> Config:
    return config_of("http://legacy", "http://candidate", rule("items", "/items", mode))


async def _replica(store: GatedStore, config: Config) -> ModeSwitcher:
    """A process starting with `config`: it adopts what the file changed, then follows the store."""
    switcher = ModeSwitcher(ModeTable(), store, "replica")
    await switcher.adopt_config(None, config, "config")
    return switcher


async def test_a_restart_with_the_same_file_keeps_the_switched_mode(store: GatedStore) -> None:
    first = await _replica(store, _config(Mode.SHADOW))
    await first.switch(_config(Mode.SHADOW).routes[0], Mode.CANDIDATE_PRIMARY, actor="alice", reason="go")
    restarted = await _replica(store, _config(Mode.SHADOW))
    assert restarted.mode_of(_config(Mode.SHADOW).routes[0]) is Mode.CANDIDATE_PRIMARY
    assert len(await store.audit()) == 1


async def test_a_file_naming_another_mode_wins_at_start_and_is_audited(store: GatedStore) -> None:
    first = await _replica(store, _config(Mode.SHADOW))
    await first.switch(_config(Mode.SHADOW).routes[0], Mode.CANDIDATE_PRIMARY, actor="alice", reason="go")
    edited = await _replica(store, _config(Mode.LEGACY))
    assert edited.mode_of(_config(Mode.LEGACY).routes[0]) is Mode.LEGACY
    last = (await store.audit())[-1]
    assert (last.from_mode, last.to_mode, last.actor) == ("candidate_primary", "legacy", "config")
    assert last.reason == "the config now names legacy (it named shadow)"


async def test_a_reload_of_a_never_switched_route_is_audited_too(store: GatedStore) -> None:
    switcher = await _replica(store, _config(Mode.SHADOW))
    await switcher.adopt_config(_config(Mode.SHADOW), _config(Mode.CANDIDATE), "reload")
    assert switcher.table.current == {"items": Mode.CANDIDATE}
    [entry] = await store.audit()
    assert (entry.from_mode, entry.to_mode, entry.actor) == ("shadow", "candidate", "reload")


async def test_rows_read_before_a_local_switch_never_undo_it(store: GatedStore) -> None:
    switcher = await _replica(store, _config(Mode.SHADOW))
    gate = store.gate = asyncio.Event()
    store.read = asyncio.Event()
    polling = asyncio.create_task(switcher.follow())
    await store.read.wait()  # the poll holds rows from before the switch (no row: shadow)
    store.gate = None
    await switcher.switch(_config(Mode.SHADOW).routes[0], Mode.CANDIDATE, actor="alice", reason="go")
    gate.set()
    await polling
    assert switcher.table.current == {"items": Mode.CANDIDATE}
    await switcher.follow()  # the next poll reads the switch itself
    assert switcher.table.current == {"items": Mode.CANDIDATE}
