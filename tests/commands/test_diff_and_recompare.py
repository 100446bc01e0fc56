"""The offline rule debuggers: `diff` on saved responses, `recompare` on stored divergence examples."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest

from comparators.compare import compare
from comparators.model import Observation
from config import load_config
from config.model import RedactSettings, StoreSettings
from proxy.cli import main
from proxy.commands.diff import InputError, read_observation
from proxy.recorder import StoreRecorder
from proxy.records import Exchange, RequestInfo
from proxy.redact import Redactor
from proxy.store import open_store

RULES = """
[upstreams]
legacy = "http://127.0.0.1:1"

[[routes]]
name = "missions"
path = "/v0/mission"

[[routes.compare]]
op = "unordered"
path = "$.data"
key = "id"
reason = "legacy returns index order"

[[routes.compare]]
op = "ignore"
paths = ["$.took"]
reason = "timing"
"""
JSON = (("content-type", "application/json"),)


def write(tmp_path: Path, name: str, content: object) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return str(path)


@pytest.fixture
def config_file(tmp_path: Path) -> str:
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    return str(path)


def envelope(data: list[dict[str, int]], took: int, status: int = 200) -> dict[str, object]:
    return {
        "status": status,
        "headers": {"content-type": "application/json"},
        "body": {"data": data, "took": took},
    }


@pytest.mark.parametrize(
    ("candidate", "expected_exit", "expected_lines"),
    [
        (
            envelope([{"id": 2, "a": 2}, {"id": 1, "a": 1}], 9),
            0,
            ["verdict: matched", "$.took  by compare[1]"],
        ),
        (
            envelope([{"id": 2, "a": 2}, {"id": 1, "a": 5}], 3),
            1,
            ["$.data[*].a  [value]  legacy=1  candidate=5"],
        ),
        (
            envelope([{"id": 1, "a": 1}, {"id": 2, "a": 2}], 3, 404),
            1,
            ["status  [status]  legacy=200  candidate=404"],
        ),
    ],
)
def test_diff_explains_the_verdict_with_the_rules(
    tmp_path: Path,
    config_file: str,
    capsys: pytest.CaptureFixture[str],
    candidate: dict[str, object],
    expected_exit: int,
    expected_lines: list[str],
) -> None:
    legacy = write(tmp_path, "legacy.json", envelope([{"id": 1, "a": 1}, {"id": 2, "a": 2}], 3))
    other = write(tmp_path, "candidate.json", candidate)
    code = main(["diff", legacy, other, "--config", config_file, "--route", "missions"])
    out = capsys.readouterr().out
    assert code == expected_exit, out
    for line in expected_lines:
        assert line in out
    assert "compare[0]:unordered: matched" in out


def test_diff_takes_plain_body_files_and_header_lists(tmp_path: Path) -> None:
    assert read_observation(write(tmp_path, "a.txt", b"hello")) == Observation(status=200, body=b"hello")
    saved = {"status": 201, "headers": [["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]], "body": "x"}
    observation = read_observation(write(tmp_path, "b.json", saved))
    assert observation.status == 201
    assert observation.header_values("set-cookie") == ("a=1", "b=2")
    assert observation.body == b"x"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"status": "200", "body": ""}, "status: expected an integer"),
        ({"status": 200, "headers": 5}, "headers: expected an object or a list"),
        ({"status": 200, "headers": [["only-a-name"]]}, "headers: expected [name, value]"),
    ],
)
def test_diff_names_what_is_wrong_with_a_saved_response(
    tmp_path: Path, content: object, message: str
) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        read_observation(write(tmp_path, "bad.json", content))


def test_diff_on_unknown_route_and_missing_file_exits_2(
    tmp_path: Path, config_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    present = write(tmp_path, "x.json", {"a": 1})
    assert main(["diff", present, present, "--config", config_file, "--route", "nope"]) == 2
    assert "no route named 'nope' (configured: missions)" in capsys.readouterr().err
    assert main(["diff", present, str(tmp_path / "absent"), "--config", config_file]) == 2
    assert "absent: cannot read" in capsys.readouterr().err


async def record_under_old_rules(tmp_path: Path, store_url: str) -> None:
    """Two divergences recorded with no rules: one a reordering (gzipped), one a real value change."""
    old_rules = tmp_path / "old.toml"
    old_rules.write_text(RULES.split("[[routes.compare]]")[0])
    old = load_config(old_rules).routes[0].compare
    recorder = StoreRecorder(
        open_store(store_url),
        StoreSettings(flush_interval=3600, examples_per_hour=10),
        Redactor.from_settings(RedactSettings()),
        "replica",
    )
    await recorder.start()
    reordered = (
        b'{"data":[{"id":1,"a":1},{"id":2,"a":2}],"took":1}',
        b'{"data":[{"id":2,"a":2},{"id":1,"a":1}],"took":2}',
    )
    real_bug = (b'{"data":[{"id":1,"a":1}],"took":1}', b'{"data":[{"id":1,"a":7}],"took":1}')
    gzipped = (*JSON, ("content-encoding", "gzip"))
    # The reordered pair is stored gzipped: recompare must use the stored (decoded) body, not re-decode it.
    for at, (legacy, candidate), headers, encode in (
        (1.0e9, reordered, gzipped, gzip.compress),
        (1.0e9 + 1, real_bug, JSON, bytes),
    ):
        left = Observation(200, headers, encode(legacy))
        right = Observation(200, JSON, candidate)
        request = RequestInfo("GET", "/v0/mission", (), b"", f"r{at}", at)
        recorder.record(Exchange("missions", request, left, right, compare(old, left, right)))
    await recorder.close()


def test_recompare_shows_what_the_current_rules_explain(
    tmp_path: Path, config_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store_url = f"sqlite:///{tmp_path / 'shadow.db'}"
    asyncio.run(record_under_old_rules(tmp_path, store_url))
    capsys.readouterr()  # the recorder's divergence log lines
    code = main(["recompare", "--store", store_url, "--config", config_file])
    out = capsys.readouterr().out
    # The reordering is explained now, but its content-encoding header difference is real and stays.
    assert "| missions | 2 | 0 | 2 | 0 |" in out
    assert "header:content-encoding (header)" in out
    assert "$.data (order)" not in out and "$.took" not in out
    assert "$.data[*].a (value)" in out
    assert code == 1
