"""The README's worked example, run as written on the engagement dataset loaded into both stores."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from reconcile_support import PG_DSN, Stores

from examples.engagement.dataset import default_dataset
from examples.engagement.load_mongo import load_mongo
from examples.engagement.load_postgres import drop_schema, load_postgres
from proxy.cli import main

pytestmark = [pytest.mark.postgres, pytest.mark.mongo]

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_job() -> str:
    """The worked example's TOML block in the README's "Verify the stores" section, exactly as documented."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Verify the stores\n") :]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1
    return str(blocks[0])


@pytest.fixture(scope="module")
def engagement(stores: Stores) -> Iterator[str]:
    """The engagement dataset in MongoDB and in PostgreSQL, under names of this session's own."""
    name = f"{stores.schema}_engagement"
    load_mongo(stores.mongo_uri, name)
    asyncio.run(load_postgres(PG_DSN, name))
    try:
        yield name
    finally:
        stores.client.drop_database(name)
        asyncio.run(drop_schema(PG_DSN, name))


def test_the_documented_job_finds_the_backfill_s_real_differences(
    stores: Stores, engagement: str, tmp_path: Path
) -> None:
    text = readme_job().replace('database = "engagement"', f'database = "{engagement}"')
    config = tmp_path / "reconcile.toml"
    config.write_text(text.replace("search_path=engagement", f"search_path={engagement}"), encoding="utf-8")
    out = tmp_path / "report.json"
    dsn = f"{PG_DSN}?search_path={engagement}"

    code = main(
        ["reconcile", "--config", str(config), "--mongo-uri", stores.mongo_uri, "--postgres-dsn", dsn]
    )
    assert code == 1
    main(["reconcile", "--config", str(config), "--mongo-uri", stores.mongo_uri, "--postgres-dsn", dsn,
          "--format", "json", "--out", str(out)])  # fmt: skip

    job = json.loads(out.read_text())["jobs"][0]
    dataset = default_dataset()
    candidate_only = sorted(m.id for m in dataset.missions if m.candidate_only)
    assert job["totals"]["missing"] == 0
    assert [e["key"] for e in job["examples"]["extra"]] == candidate_only[:5]
    assert job["totals"]["extra"] == len(candidate_only)
    assert {f["path"] for f in job["fields"]} == {"$.tags[*]", "$.activity"}
    assert job["totals"]["matched"] + job["totals"]["different"] == job["totals"]["source_read"]
