"""Two replicas on one real PostgreSQL: a switch made on one applies to both; learned ids are shared."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from cutover_support import AiohttpServer, Running, Side, StartProxy, config_of, rule, side_app, url_of

from config.model import IdPaths, Mode


async def _until(check: Callable[[], bool]) -> None:
    """Observe a replica's own background sync (nothing here drives it), within a generous bound."""
    async with asyncio.timeout(10):
        while not check():  # noqa: ASYNC110 - the state changes in another component's loop
            await asyncio.sleep(0.01)


def _created(side: str) -> Callable[..., dict[str, object]]:
    def answer(request: object, body: bytes) -> dict[str, object]:
        return {"data": {"_id": "65a1f0c2e4b0a1b2c3d4e5f6"} if side == "legacy" else {"id": "u-1"}}

    return answer


async def test_a_switch_on_one_replica_is_followed_by_the_other(
    pg_url: str, aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy, candidate = Side("legacy", body=None), Side("candidate")
    legacy_url = url_of(await aiohttp_server(side_app(legacy)))
    candidate_url = url_of(await aiohttp_server(side_app(candidate)))
    items = rule("items", "/items")
    replicas: list[Running] = []
    for name in ("replica-a", "replica-b"):
        config = config_of(legacy_url, candidate_url, items, instance_id=name)
        replicas.append(await start_proxy(config, store_url=pg_url))
    a, b = replicas
    assert [(await r.json("/items"))["side"] for r in replicas] == ["legacy", "legacy"]

    switched = await a.switch("items", "candidate", "replicas follow")
    assert switched["changed"] and a.cutover.table.current == {"items": Mode.CANDIDATE}
    await _until(lambda: b.cutover.table.current.get("items") is Mode.CANDIDATE)
    assert [(await r.json("/items"))["side"] for r in replicas] == ["candidate", "candidate"]

    [entry] = (await (await b.admin.get("/audit")).json())["audit"]
    assert (entry["instance_id"], entry["to_mode"]) == ("replica-a", "candidate")
    listed = await (await b.admin.get("/routes?readiness=0")).json()
    assert (listed["routes"][0]["mode"], listed["routes"][0]["actor"]) == ("candidate", "admin-api")

    await b.switch("items", "shadow", "and back, from the other one")
    await _until(lambda: a.cutover.table.current.get("items") is Mode.SHADOW)
    assert (await a.json("/items"))["side"] == "legacy"


async def test_ids_learned_on_one_replica_are_used_by_the_other(
    pg_url: str, aiohttp_server: AiohttpServer, start_proxy: StartProxy
) -> None:
    legacy, candidate = Side("legacy", body=_created("legacy")), Side("candidate", body=_created("candidate"))
    legacy_url = url_of(await aiohttp_server(side_app(legacy)))
    candidate_url = url_of(await aiohttp_server(side_app(candidate)))
    create = rule(
        "create",
        "/things",
        methods=("POST",),
        mirror_writes=True,
        id_paths=IdPaths("$.data._id", "$.data.id"),
        id_kind="thing",
    )
    read = rule("read", "/things/{id}", rewrite_ids=True, id_kind="thing")
    a = await start_proxy(
        config_of(legacy_url, candidate_url, create, read, instance_id="a"), store_url=pg_url
    )
    b = await start_proxy(
        config_of(legacy_url, candidate_url, create, read, instance_id="b"), store_url=pg_url
    )

    assert (await a.client.post("/things", data=b"{}")).status == 200
    await a.idle()
    assert a.cutover.ids.candidate_id("thing", "65a1f0c2e4b0a1b2c3d4e5f6") == "u-1"
    await _until(lambda: b.cutover.ids.candidate_id("thing", "65a1f0c2e4b0a1b2c3d4e5f6") == "u-1")
    await b.client.get("/things/65a1f0c2e4b0a1b2c3d4e5f6")
    await b.idle()
    assert candidate.targets()[-1] == "GET /things/u-1"
    assert legacy.targets()[-1] == "GET /things/65a1f0c2e4b0a1b2c3d4e5f6"
