"""`make demo`: the API Engagement migration shadowed end to end, with the cutover report it produces.

SecantusDB (a MongoDB-compatible server) holds the legacy data, the local PostgreSQL the candidate's and the
proxy's store; both services and shadow-proxy run as child processes; the partner traffic mix is replayed
through the proxy; the report is printed (markdown) and written to OUT/report.html and OUT/report.json.
Everything started here is stopped on the way out, Ctrl-C included.

Run: python -m examples.demo   (or python -m examples.engagement.demo --help)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from examples.engagement.candidate import Bug
from examples.engagement.dataset import default_dataset
from examples.engagement.load_mongo import load_mongo
from examples.engagement.load_postgres import checked_schema, drop_schema, load_postgres
from examples.engagement.mongo_server import MongoServerError, running_mongo
from examples.engagement.replay import Progress, ReplayStats, replay
from examples.engagement.traffic import PlannedRequest, TrafficPlan
from examples.simple.processes import (
    REPO_ROOT,
    Child,
    ChildGroup,
    StartupError,
    free_port,
    http_status,
    sigterm_exits,
)

HOST = "127.0.0.1"
REFERENCE_CONFIG = REPO_ROOT / "config" / "examples" / "engagement.toml"
DEFAULT_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
DATA_NAME = "engagement_demo"  # the Mongo database and the PostgreSQL schema of the dataset
# The behavioural classes the report should show, and where (the rules explain everything else).
LOOK_FOR = (
    "mission-list: $.data order, $.data[*] missing/extra: NULL startAt first on PostgreSQL, ties, geo order",
    "mission-list: $.total: geo bounding box vs sphere, ILIKE vs regex, openToMinors=true",
    "mission-list: status: limit=0 and keywords=(H/F are a 500 on legacy only",
    "mission-search: $.facets.*: facets counted over the page on the candidate; $.hits order: geo order",
    "mission-by-id: status: refused/deleted missions 200 vs 404, non-ObjectId ids 500 vs 404",
    "organization-search: $.total missing, $.data[*]: AND of prefixes vs OR of stems",
    "publisher-list, publisher-by-id: nothing (only serialization differs, and the rules explain it)",
)


class DemoError(RuntimeError):
    """A prerequisite is missing or a step failed; the message says what to do."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    out_dir: Path
    missions: int
    requests: int
    rate: float
    concurrency: int
    dsn: str
    store_schema: str
    bug: Bug | None
    settle_timeout: float
    min_samples: int


@dataclass(frozen=True, slots=True)
class DataPlace:
    """Where the dataset is loaded: the Mongo database and the PostgreSQL schema share one name."""

    dsn: str
    name: str


@dataclass(frozen=True, slots=True)
class Addresses:
    """Where each process of one run listens, and the proxy's store."""

    legacy: str
    candidate: str
    proxy: str
    admin: str
    store: str

    @classmethod
    def fresh(cls, dsn: str, store_schema: str) -> Addresses:
        legacy, candidate, proxy, admin = (f"http://{HOST}:{free_port(HOST)}" for _ in range(4))
        separator = "&" if "?" in dsn else "?"
        return cls(legacy, candidate, proxy, admin, f"{dsn}{separator}search_path={store_schema}")


def step(number: int, text: str) -> None:
    print(f"[{number}/7] {text}", flush=True)


# --- PostgreSQL ---


async def _can_connect(dsn: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        connection = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


def ensure_postgres(dsn: str) -> None:
    """Use the server at `dsn`; start the local cluster if PostgreSQL is installed but stopped."""
    problem = asyncio.run(_can_connect(dsn))
    if problem is None:
        return
    versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        raise DemoError(
            f"no PostgreSQL at {dsn} ({problem}) and none installed here.\n"
            "  Install it (Debian/Ubuntu: apt-get install -y postgresql) or point PG_DSN at a server."
        )
    print(f"  PostgreSQL is installed but not answering: starting cluster {versions[-1]}/main", flush=True)
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]
    subprocess.run(command, check=False, capture_output=True)
    deadline = time.monotonic() + 30
    while (problem := asyncio.run(_can_connect(dsn))) is not None:
        if time.monotonic() > deadline:
            raise DemoError(f"PostgreSQL did not come up at {dsn}: {problem}")
        time.sleep(0.5)


async def reset_schema(dsn: str, schema: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        name = checked_schema(schema)
        await connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE; CREATE SCHEMA "{name}"')
    finally:
        await connection.close()


# --- processes ---


def wait_until_answering(child: Child, url: str, timeout: float = 30.0) -> None:
    """Poll until `url` answers anything (the services answer 401 without an API key)."""
    deadline = time.monotonic() + timeout
    while http_status(url) is None:
        if not child.is_running():
            raise StartupError(f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}")
        if time.monotonic() > deadline:
            raise StartupError(f"{child.name} not answering at {url}:\n{child.log_tail()}")
        time.sleep(0.1)


def start_services(
    group: ChildGroup, at: Addresses, mongo_uri: str, data: DataPlace, out_dir: Path, bug: Bug | None = None
) -> tuple[Child, Child]:
    """Both services as child processes over the loaded dataset; returns once both answer."""
    legacy_args = [f"--port={_port(at.legacy)}", f"--mongo-uri={mongo_uri}", f"--db={data.name}"]
    candidate_args = [f"--port={_port(at.candidate)}", f"--dsn={data.dsn}", f"--schema={data.name}"]
    candidate_args += [f"--bug={bug}"] if bug else []
    legacy = group.start(
        "legacy", [sys.executable, "-m", "examples.engagement.legacy", *legacy_args], out_dir / "legacy.log"
    )
    candidate = group.start(
        "candidate",
        [sys.executable, "-m", "examples.engagement.candidate", *candidate_args],
        out_dir / "candidate.log",
    )
    for child, url in ((legacy, at.legacy), (candidate, at.candidate)):
        wait_until_answering(child, url + "/v0/publisher")
        print(f"  {child.name:<10} {url}   (log {child.log_path})", flush=True)
    return legacy, candidate


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def run_config(at: Addresses, out_dir: Path, min_samples: int | None = None) -> Path:
    """The reference rules with this run's addresses and store, written next to the report.

    Written into the file's own keys: the loader refuses a command-line override of a key the file sets.
    `min_samples` lowers the readiness bar for a short run (the reference keeps the default of 1,000).
    """
    text = REFERENCE_CONFIG.read_text(encoding="utf-8")
    values = {
        "legacy": at.legacy,
        "candidate": at.candidate,
        "listen": at.proxy.removeprefix("http://"),
        "admin_listen": at.admin.removeprefix("http://"),
        "url": at.store,
    }
    for key, value in values.items():
        text, found = re.subn(rf'^{key} = ".*"$', f"{key} = {json.dumps(value)}", text, flags=re.M)
        if found != 1:
            raise DemoError(f"{REFERENCE_CONFIG}: expected one `{key} = ...` line, found {found}")
    if min_samples is not None:
        if re.search(r"^\[cutover\]", text, flags=re.M):
            raise DemoError(f"{REFERENCE_CONFIG}: has its own [cutover] table; the demo cannot add one")
        text += (
            "\n# Added by the demo: a run of a minute or two cannot gather the default 1,000 comparisons.\n"
            f"[cutover]\nmin_samples = {min_samples}\n"
        )
    path = out_dir / "engagement.toml"
    path.write_text(text, encoding="utf-8")
    return path


def start_proxy(group: ChildGroup, at: Addresses, config: Path, out_dir: Path) -> Child:
    proxy = group.start(
        "shadow-proxy",
        [sys.executable, "-m", "proxy.cli", "serve", f"--config={config}"],
        out_dir / "proxy.log",
    )
    wait_until_answering(proxy, at.admin + "/healthz")
    print(f"  {'proxy':<10} {at.proxy}   admin {at.admin}   store {at.store}", flush=True)
    return proxy


# --- traffic and the shadow backlog ---


def is_mirrored(request: PlannedRequest) -> bool:
    """GETs are mirrored except the click and print routes; POST/PUT never (see the reference rules)."""
    return request.method == "GET" and not request.path.startswith("/r/")


def stats(admin: str) -> dict[str, Any]:
    with urllib.request.urlopen(admin + "/stats", timeout=2) as response:
        body: dict[str, Any] = json.load(response)
        return body


def settled(snapshot: dict[str, Any]) -> int:
    """Mirrored requests the proxy has finished with, whatever the outcome."""
    outcomes = ("compared", "legacy_errors", "dropped", "too_large", "shadow_failures")
    return sum(int(r.get(o, 0)) for r in snapshot.get("routes", {}).values() for o in outcomes)


def flushed(snapshot: dict[str, Any]) -> bool:
    store = snapshot.get("store", {})
    return not store.get("pending_rows") and not store.get("buffered_examples")


def wait_for_recorder(admin: str, expected: int, timeout: float) -> int:
    """Poll /stats until every mirrored request is settled and the store has taken every row."""
    deadline = time.monotonic() + timeout
    snapshot: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            snapshot = stats(admin)
        except (OSError, ValueError):
            snapshot = {}
        if snapshot and settled(snapshot) >= expected and flushed(snapshot):
            break
        time.sleep(0.2)
    return settled(snapshot)


# --- report ---


def write_reports(store: str, config: Path, out_dir: Path) -> int:
    """Print the markdown report, write the HTML and JSON ones; the first failing exit code, else 0."""
    base = [sys.executable, "-m", "proxy.cli", "report", f"--store={store}", f"--config={config}"]
    sys.stdout.flush()
    codes = [subprocess.run([*base, "--format=md"], cwd=REPO_ROOT, check=False).returncode]
    for kind in ("html", "json"):
        target = out_dir / f"report.{kind}"
        run = subprocess.run([*base, f"--format={kind}", f"--out={target}"], cwd=REPO_ROOT, check=False)
        codes.append(run.returncode)
        if run.returncode == 0:
            print(f"{kind.upper()} report: {target}")
    return next((code for code in codes if code), 0)


# --- the run ---


def replay_traffic(at: Addresses, requests: list[PlannedRequest], options: DemoOptions) -> ReplayStats:
    progress = Progress(sys.stdout)
    return asyncio.run(replay(at.proxy, requests, options.rate, options.concurrency, progress))


@contextmanager
def dataset_loaded(mongo_uri: str, data: DataPlace, missions: int) -> Iterator[None]:
    """The dataset in both stores for the duration of the run; the PostgreSQL schema dropped after."""
    dataset = default_dataset(missions)
    try:
        mongo = load_mongo(mongo_uri, data.name, dataset)
        pg = asyncio.run(load_postgres(data.dsn, data.name, dataset))
        print(f"  MongoDB: {mongo.missions} missions; PostgreSQL: {pg.missions} missions", flush=True)
        yield
    finally:
        asyncio.run(drop_schema(data.dsn, data.name))


def run(options: DemoOptions) -> int:
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    step(1, f"PostgreSQL at {options.dsn}")
    ensure_postgres(options.dsn)
    asyncio.run(reset_schema(options.dsn, options.store_schema))
    at = Addresses.fresh(options.dsn, options.store_schema)
    step(2, "SecantusDB (MongoDB-compatible, in memory)")
    with running_mongo() as mongo:
        print(f"  mongo      {mongo.uri}", flush=True)
        step(3, f"Loading the dataset ({options.missions} missions) into both stores")
        data = DataPlace(options.dsn, DATA_NAME)
        with dataset_loaded(mongo.uri, data, options.missions), ChildGroup() as group:
            step(4, "Starting the legacy and candidate services and shadow-proxy (reference rules)")
            start_services(group, at, mongo.uri, data, out, options.bug)
            proxy = start_proxy(group, at, run_config(at, out, options.min_samples), out)
            plan = TrafficPlan(default_dataset(options.missions), seed=1).requests(options.requests)
            expected = sum(is_mirrored(r) for r in plan)
            step(5, f"Replaying {len(plan)} partner requests at {options.rate:g}/s ({expected} mirrored)")
            result = replay_traffic(at, plan, options)
            done = wait_for_recorder(at.admin, expected, options.settle_timeout)
            print(f"  the proxy settled {done} of {expected} mirrored requests", flush=True)
            step(6, "Stopping the proxy with SIGTERM (it drains and flushes its store)")
            code = proxy.stop(timeout=30)
            print(f"  exit code {code}", flush=True)
    step(7, f"The cutover report (run took {time.monotonic() - started:.0f} s so far)")
    print(f"  readiness asks {options.min_samples} comparisons per route here (1,000 by default)")
    print("\nWhat the report should show (behaviour; serialization is explained by the rules):")
    print("\n".join(f"  - {line}" for line in LOOK_FOR), end="\n\n")
    report_code = write_reports(at.store, out / "engagement.toml", out)
    print(f"\nDone in {time.monotonic() - started:.0f} s. The store is kept; read it again with:")
    print(f"  shadow-proxy report --store '{at.store}' --config {out / 'engagement.toml'}")
    failed = code != 0 or report_code != 0 or done < expected or result.statuses.get(0, 0) > 0
    return 1 if failed else 0


def parse_args(argv: Sequence[str] | None) -> DemoOptions:
    parser = argparse.ArgumentParser(
        prog="python -m examples.demo",
        description=__doc__.split("\n\n")[0],
        epilog="`python -m examples.demo --simple` runs the sample catalog demo instead.",
    )
    parser.add_argument("--missions", type=int, default=300, help="dataset size (default 300)")
    parser.add_argument("--requests", type=int, default=2000, help="requests to replay (default 2000)")
    parser.add_argument("--rate", type=float, default=25.0, help="requests per second (default 25)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight at most (default 32)")
    parser.add_argument(
        "--out", type=Path, default=Path("demo-out"), help="output directory (default demo-out)"
    )
    parser.add_argument("--dsn", default=DEFAULT_DSN, help=f"PostgreSQL (default {DEFAULT_DSN})")
    parser.add_argument("--store-schema", default="shadow_demo", help="schema of the proxy's store")
    parser.add_argument("--bug", choices=[b.value for b in Bug], help="plant a regression in the candidate")
    parser.add_argument("--settle-timeout", type=float, default=30.0, help="seconds to wait for comparisons")
    parser.add_argument(
        "--min-samples", type=int, default=30, help="comparisons a route needs to be READY (default 30)"
    )
    args = parser.parse_args(argv)
    return DemoOptions(
        args.out,
        args.missions,
        args.requests,
        args.rate,
        args.concurrency,
        args.dsn,
        checked_schema(args.store_schema),
        Bug(args.bug) if args.bug else None,
        args.settle_timeout,
        args.min_samples,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        with sigterm_exits():
            return run(options)
    except (DemoError, StartupError, MongoServerError) as exc:
        sys.stdout.flush()
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("demo: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
