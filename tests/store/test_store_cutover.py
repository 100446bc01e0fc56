"""The shared store suite, cutover tables: live modes (compare-and-set), audit, learned ids, counters.

Every test runs against SQLite and a real PostgreSQL (the `store` fixture), like tests/store/test_store.py.
"""

from __future__ import annotations

import asyncio

from store_support import T0

from proxy.store import Store, open_store
from proxy.store.base import Window, minute_of
from proxy.store.cutover import CutoverCount, IdPair, ModeRequest

MINUTE = minute_of(T0)


def switch(
    to: str, *, route: str = "orders", expected: str | None = None, at: float = T0, **kw: str
) -> ModeRequest:
    return ModeRequest(
        route=route,
        to=to,
        actor=kw.get("actor", "alice"),
        reason=kw.get("reason", "ready"),
        instance_id=kw.get("instance_id", "replica-a"),
        at=at,
        assumed=kw.get("assumed", "shadow"),
        config_mode=kw.get("config_mode", "shadow"),
        expected=expected,
        details={"divergence_rate": 0.0} if kw.get("numbers") else {},
    )


async def test_a_mode_change_is_kept_and_audited_once(store: Store) -> None:
    assert await store.route_modes() == []
    first = await store.set_mode(switch("candidate_primary", numbers="yes"))
    assert first.changed and first.current == "candidate_primary"
    again = await store.set_mode(switch("candidate_primary", at=T0 + 1))
    assert not again.changed and again.current == "candidate_primary"

    [row] = await store.route_modes()
    assert (row.route, row.mode, row.config_mode, row.updated_at, row.actor) == (
        "orders",
        "candidate_primary",
        "shadow",
        T0,
        "alice",
    )
    [entry] = await store.audit()
    assert (entry.route, entry.from_mode, entry.to_mode, entry.actor, entry.reason) == (
        "orders",
        "shadow",
        "candidate_primary",
        "alice",
        "ready",
    )
    assert entry.details == {"divergence_rate": 0.0} and entry.instance_id == "replica-a"


async def test_an_expected_mode_that_no_longer_holds_changes_nothing(store: Store) -> None:
    await store.set_mode(switch("candidate_primary"))
    stale = await store.set_mode(switch("shadow", expected="candidate", at=T0 + 1))
    assert (stale.changed, stale.current) == (False, "candidate_primary")
    back = await store.set_mode(
        switch("shadow", expected="candidate_primary", at=T0 + 2, actor="auto-rollback")
    )
    assert back.changed
    assert [(e.from_mode, e.to_mode, e.actor) for e in await store.audit()] == [
        ("shadow", "candidate_primary", "alice"),
        ("candidate_primary", "shadow", "auto-rollback"),
    ]


async def test_replicas_deciding_the_same_change_at_once_apply_it_once(store_url: str) -> None:
    replicas = [open_store(store_url) for _ in range(4)]
    try:
        await replicas[0].migrate()
        results = await asyncio.gather(
            *(
                r.set_mode(switch("candidate", expected="shadow", instance_id=f"r{i}"))
                for i, r in enumerate(replicas)
            )
        )
        assert sum(result.changed for result in results) == 1
        assert {result.current for result in results} == {"candidate"}
        assert len(await replicas[1].audit()) == 1
    finally:
        for replica in replicas:
            await replica.close()


async def test_audit_reads_a_window_and_one_route(store: Store) -> None:
    await store.set_mode(switch("legacy", at=T0))
    await store.set_mode(switch("candidate", route="users", at=T0 + 10))
    await store.set_mode(switch("shadow", at=T0 + 20, assumed="legacy"))
    assert [e.to_mode for e in await store.audit(Window(T0 + 5, T0 + 30))] == ["candidate", "shadow"]
    assert [e.to_mode for e in await store.audit(route="orders")] == ["legacy", "shadow"]


async def test_learned_ids_are_kept_replaced_and_read_since(store: Store) -> None:
    await store.learn_ids([IdPair("order", "65a1", "u-1", T0, "POST /orders")], "replica-a")
    await store.learn_ids(
        [IdPair("order", "65a2", "u-2", T0 + 5, "POST /orders"), IdPair("order", "65a1", "u-9", T0 + 6)],
        "replica-b",
    )
    pairs = await store.id_pairs()
    assert [(p.kind, p.legacy_id, p.candidate_id) for p in pairs] == [
        ("order", "65a2", "u-2"),
        ("order", "65a1", "u-9"),
    ]
    assert [p.legacy_id for p in await store.id_pairs(since=T0 + 6)] == ["65a1"]


async def test_client_path_counters_add_up_over_replicas_and_purge(store: Store) -> None:
    counts = {"served": 10, "candidate_failures": 2, "fallbacks": 1}
    await store.add_cutover_counts([CutoverCount("orders", MINUTE, counts)], "replica-a")
    await store.add_cutover_counts([CutoverCount("orders", MINUTE, counts)], "replica-b")
    await store.add_cutover_counts([CutoverCount("orders", MINUTE + 60, {"served": 1})], "replica-a")
    [totals] = await store.cutover_totals()
    assert (totals.served, totals.candidate_failures, totals.fallbacks) == (21, 4, 2)
    [later] = await store.cutover_totals(Window(MINUTE + 60, None))
    assert later.served == 1
    await store.purge(MINUTE + 60)
    assert [t.served for t in await store.cutover_totals()] == [1]
    assert {"shadow_mode_audit", "shadow_route_mode", "shadow_id_map", "shadow_cutover_minute"} <= set(
        await store.dump()
    )
