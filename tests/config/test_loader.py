"""The config loader: every error at once with its key path, flags over the file, frozen results."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from config import Config, ConfigError, load_config, parse_config
from config.model import HostPort, Mode
from proxy.cli import main

MINIMAL = {"upstreams": {"legacy": "http://127.0.0.1:8001"}}


def errors_of(data: dict[str, object], **overrides: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, **overrides)
    return caught.value.errors


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"upstreams": {"legacy": "ftp://x"}},
            "upstreams.legacy: expected an http:// or https:// URL, got 'ftp://x'",
        ),
        ({**MINIMAL, "server": {"listen": "nope"}}, "server.listen: expected HOST:PORT, got 'nope'"),
        (
            {**MINIMAL, "server": {"listen": "1.2.3.4:70000"}},
            "server.listen: port 70000 is out of range 0..65535",
        ),
        (
            {**MINIMAL, "shadow": {"max_in_flight": "many"}},
            "shadow.max_in_flight: expected an integer, got string",
        ),
        (
            {**MINIMAL, "shadow": {"sample_rate": 1.5}},
            "shadow.sample_rate: must be between 0.0 and 1.0, got 1.5",
        ),
        ({**MINIMAL, "shadow": {"timeout": True}}, "shadow.timeout: expected a number, got boolean True"),
        (
            {**MINIMAL, "shadow": {"marker_header": "bad header"}},
            "shadow.marker_header: not a valid header name",
        ),
        ({**MINIMAL, "store": {"url": "mysql://x"}}, "store.url: expected sqlite:///PATH or postgresql://"),
        (
            {**MINIMAL, "redact": {"body_paths": ["$.ok", "oops"]}},
            "redact.body_paths[1]: a path starts with '$'",
        ),
        ({**MINIMAL, "routes": [{"path": "/a"}]}, "routes[0].name: required"),
        (
            {**MINIMAL, "routes": [{"name": "a", "path": "a"}]},
            "routes[0].path: expected a path pattern starting with '/'",
        ),
        (
            {**MINIMAL, "routes": [{"name": "a", "path": "/a/x{id}"}]},
            "routes[0].path: a parameter must be a whole segment",
        ),
        (
            {**MINIMAL, "routes": [{"name": "a", "path": "/a", "methods": ["GET", "FETCH"]}]},
            "routes[0].methods: unknown HTTP method 'FETCH'",
        ),
        (
            {**MINIMAL, "routes": [{"name": "a", "path": "/a", "mode": "both"}]},
            "routes[0].mode: expected one of legacy, shadow",
        ),
        (
            {**MINIMAL, "routes": [{"name": "a", "path": "/a"}, {"name": "a", "path": "/b"}]},
            "routes[1].name: duplicate route name 'a'",
        ),
        (
            {**MINIMAL, "routes": [{"name": "a", "path": "/a", "compare": [{"op": "nope"}]}]},
            "routes[0].compare[0].op: unknown",
        ),
        (
            {**MINIMAL, "upstreams": {"legacy": "http://a", "candidat": "http://b"}},
            "upstreams.candidat: unknown key (did you mean 'candidate'?)",
        ),
        ({**MINIMAL, "sever": {}}, "sever: unknown key (did you mean 'server'?)"),
        ({}, "upstreams.legacy: required (or pass --legacy URL)"),
    ],
)
def test_each_error_names_its_key(data: dict[str, object], expected: str) -> None:
    errors = errors_of(data)
    assert any(e.startswith(expected) for e in errors), errors


def test_all_errors_are_reported_at_once() -> None:
    data = {
        "upstreams": {"legacy": "ftp://x"},
        "server": {"listen": "nope"},
        "routes": [{"name": "a", "path": "a"}, {"path": "/b", "sample_rate": 2}],
    }
    errors = errors_of(data)
    assert len(errors) >= 4
    assert [e.split(":")[0] for e in errors][:2] == ["upstreams.legacy", "server.listen"]


def test_an_invalid_legacy_url_is_not_also_reported_as_missing() -> None:
    assert errors_of({"upstreams": {"legacy": "ftp://x"}}) == [
        "upstreams.legacy: expected an http:// or https:// URL, got 'ftp://x'"
    ]


def test_flags_override_the_file_and_a_file_key_they_replace_is_not_unknown(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[upstreams]\nlegacy = "http://file:1"\ncandidate = "http://file:2"\n'
        '[server]\nlisten = "127.0.0.1:1000"\n[store]\nurl = "sqlite:///file.db"\n'
    )
    config = load_config(
        path,
        legacy="http://flag:1",
        listen="127.0.0.1:2000",
        admin_listen="127.0.0.1:3000",
        store="sqlite:///f.db",
    )
    assert config.legacy == "http://flag:1"
    assert config.candidate == "http://file:2"
    assert config.server.listen == HostPort("127.0.0.1", 2000)
    assert config.server.admin_listen == HostPort("127.0.0.1", 3000)
    assert config.store.url == "sqlite:///f.db"


def test_a_bad_flag_is_named_as_a_flag() -> None:
    assert any(e.startswith("--legacy: expected an http") for e in errors_of(MINIMAL, legacy="nope"))
    assert any(e.startswith("--listen: expected HOST:PORT") for e in errors_of(MINIMAL, listen="x"))


def test_the_config_is_frozen_and_routes_are_parsed() -> None:
    config = parse_config(
        {**MINIMAL, "routes": [{"name": "m", "methods": ["get", "HEAD"], "path": "/v0/mission/{id}"}]}
    )
    assert isinstance(config, Config)
    route = config.routes[0]
    assert route.methods == frozenset({"GET", "HEAD"})
    assert route.mode is Mode.SHADOW
    assert route.mirrors("GET") and not route.mirrors("POST")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.legacy = "http://other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[upstreams\nlegacy = 1", "<toml>: "),
        (b"\xff\xfe", "is not UTF-8"),
    ],
)
def test_unreadable_files_are_clear_errors(tmp_path: Path, content: str | bytes, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError, match=expected):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_check_config_prints_every_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[upstreams]\nlegacy = "ftp://x"\n[shadow]\nmax_in_flight = -1\n')
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "upstreams.legacy: expected an http://" in err
    assert "shadow.max_in_flight: must be >= 0, got -1" in err
    path.write_text('[upstreams]\nlegacy = "http://127.0.0.1:1"\n')
    assert main(["check-config", str(path)]) == 0
    assert "OK" in capsys.readouterr().out
