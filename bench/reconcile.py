"""Reconcile throughput and memory on N mission-like documents (~2 KB) loaded into MongoDB and PostgreSQL.

Run: `.venv/bin/python -m bench.reconcile` (200,000 documents, a few minutes) or `--documents 50000`.
MongoDB is an in-memory SecantusDB (or MONGODB_URI); PostgreSQL is PG_DSN (default the local test server).

Measured at 50,000 documents and at the full size (the rest is loaded in between), each in a fresh process so
its peak RSS is its own:
- `mongo read` and `postgres read`: one side's key-ordered stream alone, nothing compared;
- `same shape`: end to end, the query returns the document's representation, so pairs are byte-identical;
- `transforms`: end to end with the realistic backfill differences in every pair (booleans for yes/no,
  NULL for "", absent vs NULL dates): the normalizer pipeline decides each pair's differing fields;
- `unique values`: the same plus one representation difference that is unique to every pair (a microsecond
  timestamp against a millisecond one), so the pipeline runs for every single document: the worst case
  (measured at the smaller size only: past its memo's 20,000 entries the rate and memory no longer move);
- `engine only`: the `transforms` job's merge-join and comparisons on in-memory streams, no database at all
  (what this process can do when the servers are not the limit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pymongo
from bson import ObjectId

from config.model import ReconcileJob
from proxy.commands.reconcile import load_jobs
from proxy.reconcile.engine import reconcile_job
from proxy.reconcile.merge import Batch, merge_join
from proxy.reconcile.result import Status
from proxy.reconcile.sources import MongoSource, PostgresSource
from proxy.reconcile.tally import Tally

PG_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = "bench_reconcile"
DATABASE = "bench_reconcile"
BASE = datetime(2025, 1, 6, 9, 30, 0, 250000)
WORDS = [
    "aide",
    "accompagnement",
    "solidarité",
    "bénévole",
    "quartier",
    "enfants",
    "seniors",
    "collecte",
    "sport",
    "culture",
    "nature",
]
COLUMNS = (
    "id text PRIMARY KEY, title text, description text, publisher_id text, organization_name text, "
    "tags jsonb, domain text, remote text, open_to_minors boolean, close_to_transport boolean, places int, "
    "posted_at timestamp(3), start_at timestamp(3), updated_at timestamp(3), synced_at timestamp(6), "
    "addresses jsonb"
)
SAME_SHAPE_QUERY = f"""
SELECT id, title, description, publisher_id AS "publisherId", organization_name AS "organizationName",
       tags, domain, coalesce(remote, '') AS remote,
       CASE WHEN open_to_minors THEN 'yes' ELSE 'no' END AS "openToMinors",
       CASE WHEN close_to_transport THEN 'yes' ELSE 'no' END AS "closeToTransport",
       places, posted_at AS "postedAt", start_at AS "startAt", updated_at AS "updatedAt",
       date_trunc('milliseconds', synced_at) AS "syncedAt", addresses
FROM {SCHEMA}.mission WHERE start_at IS NOT NULL
"""
FIELDS = (
    "title description publisherId=publisher_id organizationName=organization_name tags domain remote "
    "openToMinors=open_to_minors closeToTransport=close_to_transport places postedAt=posted_at "
    "startAt=start_at updatedAt=updated_at addresses"
)
RULES = """
[[reconcile.compare]]
op = "value_map"
paths = ["$.openToMinors", "$.closeToTransport"]
map = { yes = true, no = false }
[[reconcile.compare]]
op = "empty_equivalent"
paths = ["$.remote", "$.startAt"]
forms = ["missing", "null", "empty_string"]
[[reconcile.compare]]
op = "unordered"
path = "$.tags"
"""
UNIQUE_RULE = """
[[reconcile.compare]]
op = "timestamps"
path = "$.syncedAt"
precision = "ms"
"""


def job(name: str, postgres: str, mongo_extra: str = "", fields: str = "", rules: str = "") -> str:
    """One `[[reconcile]]` table; `fields` are `doc=column` (or one name for both) separated by spaces."""
    pairs = [f.partition("=") for f in fields.split()]
    mapping = "".join(f'"$.{doc}" = "{column or doc}"\n' for doc, _, column in pairs)
    table = f"""
[[reconcile]]
name = "{name}"
batch_size = 1000
mongo = {{ uri = "URI", database = "{DATABASE}", collection = "missions"{mongo_extra} }}
postgres = {{ dsn = "{PG_DSN}", {postgres} }}
key = {{ source = "_id", target = "id" }}
"""
    return table + (f"[reconcile.fields]\n{mapping}" if mapping else "") + rules


MISSIONS = f'table = "{SCHEMA}.mission"'
JOBS = (
    job("same-shape", f"query = '''{SAME_SHAPE_QUERY}'''", ', filter = { startAt = { "$exists" = true } }')
    + job("transforms", MISSIONS, fields=FIELDS, rules=RULES)
    + job("unique-values", MISSIONS, fields=FIELDS + " syncedAt=synced_at", rules=RULES + UNIQUE_RULE)
)


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def mission(n: int) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """Document n (~2 KB as BSON) and the row the backfill wrote for it."""
    rng = random.Random(n)
    oid = ObjectId((0x6000_0000 + n).to_bytes(4, "big") + rng.randbytes(8))
    tags = [_text(rng, 1) for _ in range(rng.randint(2, 5))]
    remote = rng.choice(["", "possible", "full"])
    flags = (rng.random() < 0.3, rng.random() < 0.5)
    start = None if n % 50 == 0 else BASE + timedelta(days=n % 90)
    address = {
        "city": "Paris",
        "postalCode": "75011",
        "location": {"lat": 48.85 + n % 97 / 1000, "lon": 2.37},
    }
    document: dict[str, Any] = {
        "_id": oid,
        "title": f"Mission {n}: {_text(rng, 5)}",
        "description": _text(rng, 150),
        "publisherId": f"{n % 40:024x}",
        "organizationName": f"Association {n % 300}",
        "tags": tags,
        "domain": rng.choice(["solidarite-insertion", "sport", "culture-loisirs", "environnement"]),
        "remote": remote,
        "openToMinors": "yes" if flags[0] else "no",
        "closeToTransport": "yes" if flags[1] else "no",
        "places": rng.randint(1, 20),
        "postedAt": BASE,
        "updatedAt": BASE + timedelta(minutes=n),
        "syncedAt": BASE + timedelta(seconds=n),
        "addresses": [address],
    }
    if start is not None:
        document["startAt"] = start
    synced = document["syncedAt"] + timedelta(microseconds=417)  # microseconds here, milliseconds in legacy
    row = (
        str(oid),
        document["title"],
        document["description"],
        document["publisherId"],
        document["organizationName"],
        orjson.dumps(tags).decode(),
        document["domain"],
        remote or None,
        *flags,
        document["places"],
        BASE,
        start,
        document["updatedAt"],
        synced,
        orjson.dumps([address]).decode(),
    )
    return document, row


MEASUREMENTS = ("mongo", "postgres", "engine", "same-shape", "transforms", "unique-values")


def chunks(start: int, stop: int, size: int = 5000) -> Iterator[range]:
    for low in range(start, stop, size):
        yield range(low, min(low + size, stop))


async def load(mongo_uri: str, start: int, stop: int) -> None:
    """Add missions [start, stop) to both stores (the first call creates them)."""
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_uri)
    collection = client[DATABASE]["missions"]
    connection = await asyncpg.connect(PG_DSN)
    try:
        if start == 0:
            client.drop_database(DATABASE)
            await connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
            await connection.execute(f"CREATE TABLE {SCHEMA}.mission ({COLUMNS})")
        for block in chunks(start, stop):
            pairs = [mission(n) for n in block]
            collection.insert_many([document for document, _ in pairs], ordered=False)
            rows = [row for _, row in pairs]
            await connection.copy_records_to_table("mission", records=rows, schema_name=SCHEMA)
        await connection.execute(f"ANALYZE {SCHEMA}.mission")
    finally:
        client.close()
        await connection.close()


async def drop(mongo_uri: str) -> None:
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(mongo_uri) as client:
        client.drop_database(DATABASE)
    connection = await asyncpg.connect(PG_DSN)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await connection.close()


# --- one measurement, in its own process ------------------------------------------------------------------


async def engine_only(job: ReconcileJob, count: int) -> Tally:
    """The job's merge-join and comparisons over in-memory streams shaped like the two drivers' output."""
    names = [column.split()[0] for column in COLUMNS.split(",")]
    pool = []
    for n in range(2000):
        document, row = mission(n)
        record = dict(zip(names, row, strict=True))
        record["tags"], record["addresses"] = orjson.loads(record["tags"]), orjson.loads(record["addresses"])
        pool.append((document, record))

    async def side(index: int) -> AsyncIterator[Batch]:
        for block in chunks(0, count, job.batch_size):
            yield [((f"{n:024x}",), pool[n % len(pool)][index]) for n in block]

    tally = Tally(job)
    await merge_join(("source", side(0)), ("target", side(1)), tally)
    return tally


async def measure(what: str, config: Path, size: int) -> dict[str, Any]:
    jobs = {job.name: job for job in load_jobs(str(config))}
    started = time.perf_counter()
    if what == "engine":
        tally = await engine_only(jobs["transforms"], size)
        count, status = tally.source_read, f"{tally.matched:,} matched"
    elif what in ("mongo", "postgres"):
        source = MongoSource(jobs["transforms"]) if what == "mongo" else PostgresSource(jobs["transforms"])
        await source.open()
        count = 0
        async for batch in source.batches():
            count += len(batch)
        await source.close()
        status = "read"
    else:
        result = await reconcile_job(jobs[what])
        if result.status is Status.FAILED:
            raise SystemExit(result.error)
        count, status = result.source_read, f"{result.status.value}: {result.matched:,} matched"
    seconds = time.perf_counter() - started
    return {"what": what, "count": count, "seconds": seconds, "peak_mb": peak_rss_mb(), "status": status}


def peak_rss_mb() -> float:
    """This process's peak RSS. Not ru_maxrss: Linux carries it over exec from the forking parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(what: str, config: Path, size: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.reconcile", "--child", what, "--config", str(config)]
    command += ["--documents", str(size)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench child {what!r} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'documents':>10}  {'measurement':<14} {'docs/s':>9} {'seconds':>8} {'peak RSS':>9}  result")
    for row in rows:
        rate = row["count"] / row["seconds"] if row["seconds"] else 0
        print(
            f"{row['size']:>10,}  {row['what']:<14} {rate:>9,.0f} {row['seconds']:>8.1f} "
            f"{row['peak_mb']:>7.0f}MB  {row['status']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200_000, help="full size (default 200,000)")
    parser.add_argument("--child", choices=MEASUREMENTS, help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(args.child, args.config, args.documents))))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from examples.engagement.mongo_server import running_mongo

    sizes = sorted({min(50_000, args.documents), args.documents})
    rows: list[dict[str, Any]] = []
    with running_mongo() as server:
        config = Path(f"/tmp/bench-reconcile-{os.getpid()}.toml")
        config.write_text(JOBS.replace("URI", server.uri), encoding="utf-8")
        loaded = 0
        try:
            for size in sizes:
                began = time.perf_counter()
                asyncio.run(load(server.uri, loaded, size))
                took = time.perf_counter() - began
                print(f"loaded {size - loaded:,} documents into both stores in {took:.0f} s")
                loaded = size
                for what in MEASUREMENTS:
                    if what == "unique-values" and size != sizes[0]:
                        continue  # its rate does not depend on the size; keeps a run under ~10 minutes
                    rows.append({"size": size, **run_child(what, config, size)})
                    print_table(rows[-1:])
        finally:
            config.unlink(missing_ok=True)
            asyncio.run(drop(server.uri))
    print_table(rows)


if __name__ == "__main__":
    main()
