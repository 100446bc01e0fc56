"""The engagement demo's own logic: its run config loads as the addresses it was given, it expects exactly
the requests the reference rules mirror, and it reads the proxy's /stats as the recorder writes them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from e2e_support import E2E_MISSIONS

from config.loader import load_config
from examples.engagement.dataset import default_dataset
from examples.engagement.demo import Addresses, flushed, is_mirrored, run_config, settled
from examples.engagement.traffic import TrafficPlan
from proxy.routing import Router

AT = Addresses(
    "http://127.0.0.1:7001",
    "http://127.0.0.1:7002",
    "http://127.0.0.1:7003",
    "http://127.0.0.1:7004",
    "postgresql://postgres@127.0.0.1:5432/test?search_path=shadow_demo",
)


def test_the_run_config_holds_this_run_addresses_and_store(tmp_path: Path) -> None:
    config = load_config(run_config(AT, tmp_path))
    assert (config.legacy.rstrip("/"), (config.candidate or "").rstrip("/")) == (AT.legacy, AT.candidate)
    assert str(config.server.listen) == urlsplit(AT.proxy).netloc
    assert str(config.server.admin_listen) == urlsplit(AT.admin).netloc
    assert config.store.url == AT.store
    assert len(config.routes) == 10
    assert config.cutover.min_samples == 1000  # the reference default, untouched


def test_a_short_run_may_lower_the_readiness_bar(tmp_path: Path) -> None:
    assert load_config(run_config(AT, tmp_path, min_samples=30)).cutover.min_samples == 30


def test_fresh_addresses_put_the_store_in_its_schema() -> None:
    at = Addresses.fresh("postgresql://postgres@127.0.0.1:5432/test", "shadow_demo")
    assert at.store.endswith("/test?search_path=shadow_demo")
    assert len({at.legacy, at.candidate, at.proxy, at.admin}) == 4


def test_the_demo_expects_exactly_what_the_rules_mirror(tmp_path: Path) -> None:
    config = load_config(run_config(AT, tmp_path))
    router = Router(config.routes, config.default_compare, config.shadow.sample_rate)
    plan = TrafficPlan(default_dataset(E2E_MISSIONS), seed=1).requests(400)
    for request in plan:
        route = router.match(request.method, request.path.split("?")[0])
        assert is_mirrored(request) == (route.mirrors(request.method) and route.sample_rate > 0), request
    assert 0 < sum(map(is_mirrored, plan)) < len(plan)


@pytest.mark.parametrize(
    ("snapshot", "done", "written"),
    [
        ({}, 0, True),
        ({"routes": {"a": {"compared": 3, "matched": 3}, "b": {"dropped": 1, "not_mirrored": 9}}}, 4, True),
        ({"routes": {"a": {"legacy_errors": 2}}, "store": {"pending_rows": 5}}, 2, False),
        ({"routes": {}, "store": {"pending_rows": 0, "buffered_examples": 1}}, 0, False),
    ],
)
def test_stats_reading(snapshot: dict[str, object], done: int, written: bool) -> None:
    assert (settled(snapshot), flushed(snapshot)) == (done, written)
