"""The traffic mix is deterministic and realistic; the replayer sends it at a rate and reports statuses."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from aiohttp.test_utils import TestServer
from engagement_support import PG_DSN

from examples.engagement import candidate
from examples.engagement.model import Dataset
from examples.engagement.replay import Progress, replay
from examples.engagement.traffic import KIND_WEIGHTS, TrafficPlan


def test_same_seed_same_requests(dataset: Dataset) -> None:
    assert TrafficPlan(dataset, 5).requests(200) == TrafficPlan(dataset, 5).requests(200)
    assert TrafficPlan(dataset, 5).requests(200) != TrafficPlan(dataset, 6).requests(200)


def test_mix_is_dominated_by_the_listing_and_covers_every_kind(dataset: Dataset) -> None:
    kinds = Counter(r.kind for r in TrafficPlan(dataset, 1).requests(3000))
    assert set(kinds) == {k for k, _ in KIND_WEIGHTS}
    listing = kinds["list"] + kinds["paginated"] + kinds["filtered"] + kinds["geo"]
    assert listing > 3000 * 0.45 and kinds.most_common(1)[0][0] == "list"


def test_mix_uses_several_keys_and_the_error_probes(dataset: Dataset) -> None:
    requests = TrafficPlan(dataset, 1).requests(3000)
    keys = {value for r in requests for name, value in r.headers if name in ("x-api-key", "apikey")}
    assert len(keys & set(dataset.api_keys.values())) == 6 and "not-a-key" in keys
    paths = {r.path for r in requests}
    assert {"/v0/mission?limit=0", "/v0/mission?type=foo"} <= paths
    assert any(r.kind == "error" and not r.headers for r in requests)
    assert any(p.startswith("/v0/mission/search?") and "lat=" in p for p in paths)


def test_writes_can_be_left_out(dataset: Dataset) -> None:
    requests = TrafficPlan(dataset, 1, include_writes=False).requests(1000)
    assert not any(r.path.startswith(("/r/", "/v2/")) for r in requests)


@pytest.mark.postgres
async def test_replay_sends_everything_and_counts_statuses(dataset: Dataset, pg_schema: str) -> None:
    requests = TrafficPlan(dataset, 2).requests(60)
    output = io.StringIO()
    async with TestServer(candidate.create_app(PG_DSN, pg_schema)) as server:
        stats = await replay(
            str(server.make_url("")), requests, rate=500, progress=Progress(output, interval_s=0)
        )
    assert stats.done == 60 and stats.kinds == Counter(r.kind for r in requests)
    assert stats.statuses[200] > 30 and 0 not in stats.statuses
    assert {401, 404} & set(stats.statuses)
    lines = output.getvalue().splitlines()
    assert lines and lines[-1].startswith("replay: 60/60 requests")
