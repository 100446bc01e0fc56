"""Dual writes with id correlation: ids learned from the two create answers make later reads compare equal
when the data is equal, rewrite the candidate's request paths, and still let real differences through."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cutover_support import AiohttpServer, StartProxy, url_of

from comparators.model import Verdict
from config import load_config
from proxy.idmap import IdMap, LearnedIds
from proxy.records import Exchange

CONFIG = """
[upstreams]
legacy = "{legacy}"
candidate = "{candidate}"

[[routes]]
name = "create thing"
methods = ["POST"]
path = "/things"
mirror_writes = true
id_paths = {{ legacy = "$.data._id", candidate = "$.data.id" }}
id_kind = "thing"

[[routes]]
name = "thing"
methods = ["GET", "PUT"]
path = "/things/{{id}}"
mirror_writes = true
rewrite_ids = true
id_kind = "thing"

[[routes.compare]]
op = "ids"
path = "$.data._id"
legacy_format = "objectid"
candidate_format = "uuid"
reason = "ObjectIds became UUIDs"
"""


class Store:
    """One side's resources: legacy names them with ObjectIds, the candidate with UUIDs."""

    def __init__(self, legacy: bool) -> None:
        self.legacy = legacy
        self.rows: dict[str, dict[str, Any]] = {}
        self.seen: list[str] = []
        self._serial = itertools.count(1)

    def new_id(self) -> str:
        n = next(self._serial)
        return f"65a1f0c2e4b0a1b2c3d4e{n:03x}" if self.legacy else f"00000000-0000-4000-8000-{n:012d}"

    def app(self) -> web.Application:
        async def create(request: web.Request) -> web.Response:
            self.seen.append(f"POST {request.raw_path}")
            thing_id = self.new_id()
            self.rows[thing_id] = {"_id": thing_id, **(await request.json())}
            key = "_id" if self.legacy else "id"  # the create answers differ in shape too
            return web.json_response({"data": {key: thing_id}}, status=201)

        async def read(request: web.Request) -> web.Response:
            self.seen.append(f"{request.method} {request.raw_path}")
            row = self.rows.get(request.match_info["id"])
            if row is None:
                return web.json_response({"error": "not found"}, status=404)
            if request.method == "PUT":
                row.update(await request.json())
            return web.json_response({"data": row})

        app = web.Application()
        app.router.add_post("/things", create)
        app.router.add_route("*", "/things/{id}", read)
        return app


@pytest.fixture
async def sides(aiohttp_server: AiohttpServer) -> tuple[Store, Store]:
    return Store(legacy=True), Store(legacy=False)


async def test_a_learned_id_makes_equal_data_compare_equal_and_real_differences_still_show(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy, sides: tuple[Store, Store], tmp_path: Path
) -> None:
    legacy, candidate = sides
    file = tmp_path / "proxy.toml"
    file.write_text(
        CONFIG.format(
            legacy=url_of(await aiohttp_server(legacy.app())),
            candidate=url_of(await aiohttp_server(candidate.app())),
        )
    )
    proxy = await start_proxy(load_config(file))

    created = await proxy.client.post("/things", json={"name": "lamp"})
    assert (created.status, await created.json()) == (201, {"data": {"_id": "65a1f0c2e4b0a1b2c3d4e001"}})
    await proxy.idle()
    lamp, lamp_uuid = "65a1f0c2e4b0a1b2c3d4e001", "00000000-0000-4000-8000-000000000001"
    assert proxy.cutover.ids.candidate_id("thing", lamp) == lamp_uuid

    await proxy.client.get(f"/things/{lamp}")
    await proxy.idle()
    assert candidate.seen[-1] == f"GET /things/{lamp_uuid}"  # rewrite_ids: the candidate's own id
    assert _last(proxy.recorder.exchanges).comparison.verdict is Verdict.MATCHED

    await proxy.client.put(f"/things/{lamp}", json={"color": "red"})  # a mirrored update, id rewritten
    await proxy.idle()
    assert candidate.seen[-1] == f"PUT /things/{lamp_uuid}" and candidate.rows[lamp_uuid]["color"] == "red"

    candidate.rows[lamp_uuid]["name"] = "Lamp"  # a real data difference
    await proxy.client.get(f"/things/{lamp}")
    await proxy.idle()
    diverged = _last(proxy.recorder.exchanges).comparison
    assert diverged.verdict is Verdict.DIVERGED
    assert [(d.path, d.kind.value) for d in diverged.differences] == [("$.data.name", "value")]

    await proxy.client.post("/things", json={"name": "desk"})
    await proxy.idle()
    desk_uuid = "00000000-0000-4000-8000-000000000002"
    candidate.rows[lamp_uuid] = dict(candidate.rows[desk_uuid], name="lamp", color="red")  # wrong row
    await proxy.client.get(f"/things/{lamp}")
    await proxy.idle()
    wrong = _last(proxy.recorder.exchanges).comparison
    # Both ids have their formats: only the learned mapping can tell that this is another resource.
    assert [(d.path, d.candidate) for d in wrong.differences] == [("$.data._id", desk_uuid)]

    await proxy.cutover.sync_once()
    learned = {(p.legacy_id, p.candidate_id, p.route) for p in await proxy.cutover.store.id_pairs()}
    assert learned == {
        (lamp, lamp_uuid, "create thing"),
        ("65a1f0c2e4b0a1b2c3d4e002", desk_uuid, "create thing"),
    }


async def test_writes_of_a_route_that_did_not_opt_in_are_never_mirrored(
    aiohttp_server: AiohttpServer, start_proxy: StartProxy, sides: tuple[Store, Store], tmp_path: Path
) -> None:
    legacy, candidate = sides
    file = tmp_path / "proxy.toml"
    text = CONFIG.replace("mirror_writes = true\n", "", 1)  # the create route no longer opts in
    file.write_text(
        text.format(
            legacy=url_of(await aiohttp_server(legacy.app())),
            candidate=url_of(await aiohttp_server(candidate.app())),
        )
    )
    proxy = await start_proxy(load_config(file))
    await proxy.client.post("/things", json={"name": "lamp"})
    await proxy.idle()
    assert (legacy.seen, candidate.seen) == (["POST /things"], [])
    assert proxy.cutover.ids.counts() == {"thing": 0}


REWRITES = [
    ("/things/L1", "/things/C1"),
    ("/things/L1/parts/L2?ref=L1", "/things/C1/parts/C2?ref=L1"),  # the query string is never touched
    ("/things/other", "/things/other"),
    ("/L1", "/C1"),
]


@pytest.mark.parametrize(("legacy_target", "candidate_target"), REWRITES)
def test_ids_in_path_segments_are_rewritten_both_ways(legacy_target: str, candidate_target: str) -> None:
    ids = IdMap()
    ids.add(_pairs(("L1", "C1"), ("L2", "C2")))
    assert ids.to_candidate("thing", legacy_target) == candidate_target
    assert ids.to_legacy("thing", candidate_target) == legacy_target.replace("ref=C1", "ref=L1")
    assert ids.to_candidate("other kind", legacy_target) == legacy_target


def test_a_learned_mapping_is_a_live_view_layered_under_the_configured_one() -> None:
    learned: dict[str, str] = {}
    view = LearnedIds({"L1": "C-configured"}, learned)
    learned.update({"L1": "C-learned", "L2": "C2"})
    assert (view.get("L1"), view.get("L2"), view.get("L3")) == ("C-configured", "C2", None)
    assert sorted(view) == ["L1", "L2"] and len(view) == 2
    ids = IdMap()
    ids.add(_pairs(("L1", "C1")))
    ids.add(_pairs(("L1", "C9")))  # learned again: the newer candidate id wins, the old one is forgotten
    assert ids.to_candidate("thing", "/L1") == "/C9" and ids.to_legacy("thing", "/C1") == "/C1"


def _pairs(*pairs: tuple[str, str]) -> list[Any]:
    from proxy.store.cutover import IdPair

    return [IdPair("thing", old, new, 0.0) for old, new in pairs]


def _last(exchanges: list[Exchange]) -> Exchange:
    return exchanges[-1]
