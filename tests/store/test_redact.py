"""Redaction is pure: table-driven tests of headers, query strings, JSON bodies, differences and scrubbing."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest

from comparators.paths import MISSING
from config.model import RedactSettings
from proxy.redact import (
    Redactor,
    Secrets,
    redact_body,
    redact_difference_value,
    redact_header_value,
    redact_target,
    scrub_bytes,
    scrub_text,
)

REDACTOR = Redactor.from_settings(RedactSettings(body_paths=("$.password", "$..token", "$.cards[*].number")))


def m(value: str) -> str:
    return f"[redacted:{hashlib.sha256(value.encode()).hexdigest()[:8]}]"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Authorization", "Bearer abc.def", f"Bearer {m('abc.def')}"),
        ("authorization", "opaque-token", m("opaque-token")),
        ("Proxy-Authorization", "Basic dXNlcjpwdw==", f"Basic {m('dXNlcjpwdw==')}"),
        ("Cookie", "sid=s3cr3t; theme=dark", f"sid={m('s3cr3t')}; theme={m('dark')}"),
        ("Set-Cookie", "sid=s3cr3t; Path=/; HttpOnly", f"sid={m('s3cr3t')}; Path=/; HttpOnly"),
        ("X-Api-Key", "k-123456", m("k-123456")),
        ("apikey", "k-123456", m("k-123456")),
        ("Accept", "application/json", "application/json"),
    ],
)
def test_headers(name: str, value: str, expected: str) -> None:
    assert redact_header_value(REDACTOR, name, value, Secrets()) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/get", "/get"),
        ("/get?a=1&a=2", "/get?a=1&a=2"),
        ("/get?token=t0k3n&a=%20x", f"/get?token={m('t0k3n')}&a=%20x"),
        ("/get?API_KEY=k%2Fey&token=&b", f"/get?API_KEY={m('k/ey')}&token=&b"),
        (
            "/get?access_token=a+b&x=1&access_token=c",
            f"/get?access_token={m('a b')}&x=1&access_token={m('c')}",
        ),
    ],
)
def test_query(target: str, expected: str) -> None:
    assert redact_target(REDACTOR, target, Secrets()) == expected


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"user": "ann", "password": "hunter22"}, {"user": "ann", "password": m("hunter22")}),
        (
            {"a": {"b": [{"token": "t1"}, {"token": 42}]}},
            {"a": {"b": [{"token": m("t1")}, {"token": m("42")}]}},
        ),
        ({"cards": [{"number": "4111"}, {"cvc": 1}]}, {"cards": [{"number": m("4111")}, {"cvc": 1}]}),
        ({"other": 1}, {"other": 1}),
        ({"password": {"nested": True}}, {"password": m('{"nested":true}')}),
    ],
)
def test_json_body(document: Any, expected: Any) -> None:
    body = redact_body(REDACTOR, orjson.dumps(document), "application/json", Secrets())
    assert orjson.loads(body) == expected


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"", "application/json", b""),
        (b"not json {", "application/json", b"not json {"),
        (
            b"user=ann&token=t0k3n",
            "application/x-www-form-urlencoded",
            f"user=ann&token={m('t0k3n')}".encode(),
        ),
        (b'{"password": "x"}', "text/plain", f'{{"password":"{m("x")}"}}'.encode()),  # sniffed as JSON
    ],
)
def test_other_bodies(body: bytes, content_type: str, expected: bytes) -> None:
    assert redact_body(REDACTOR, body, content_type, Secrets()) == expected


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("$.password", "hunter22", m("hunter22")),
        ("$.user", {"name": "ann", "password": "pw12"}, {"name": "ann", "password": m("pw12")}),
        ("$.user", {"deep": [{"token": "tt11"}]}, {"deep": [{"token": m("tt11")}]}),
        ("header:set-cookie", "sid=abcd; Path=/", f"sid={m('abcd')}; Path=/"),
        ("header:etag", '"v1"', '"v1"'),
        ("$.name", "ann", "ann"),
        ("$.password", MISSING, MISSING),
        ("status", 200, 200),
    ],
)
def test_difference_values(path: str, value: Any, expected: Any) -> None:
    assert redact_difference_value(REDACTOR, path, value, Secrets()) == expected


def test_equal_secrets_compare_equal_and_a_key_changes_the_hash() -> None:
    keyed = Redactor.from_settings(RedactSettings(), key=b"k1")
    assert REDACTOR.mask("same") == REDACTOR.mask("same") != REDACTOR.mask("other")
    assert keyed.mask("same") != REDACTOR.mask("same")
    assert keyed.mask("same").startswith("[redacted:") and len(keyed.mask("same")) == len(
        "[redacted:12345678]"
    )


def test_secrets_found_while_redacting_are_scrubbed_elsewhere() -> None:
    secrets = Secrets()
    redact_header_value(REDACTOR, "Authorization", "Bearer tok-12345", secrets)
    redact_target(REDACTOR, "/x?token=q%22uote", secrets)
    echoed = '{"headers": {"Authorization": "Bearer tok-12345"}, "args": {"token": "q\\"uote"}}'
    scrubbed = scrub_text(REDACTOR, echoed, secrets)
    assert "tok-12345" not in scrubbed and 'q\\"uote' not in scrubbed
    assert scrub_bytes(REDACTOR, b"id=tok-12345;", secrets) == f"id={m('tok-12345')};".encode()


def test_short_values_are_not_scrubbed_everywhere() -> None:
    secrets = Secrets()
    redact_header_value(REDACTOR, "X-Api-Key", "1", secrets)
    assert scrub_text(REDACTOR, "page 1 of 10", secrets) == "page 1 of 10"


def test_a_bad_body_path_names_its_key() -> None:
    with pytest.raises(ValueError, match=r"redact\.body_paths\[1\]"):
        Redactor.from_settings(RedactSettings(body_paths=("$.ok", "$.a[0]")))
