"""A corpus of hostile requests replayed over raw sockets, each with one documented outcome (guarantees.md).

A request the HTTP parser refuses is answered by the proxy itself (400, 414 or 431 with a JSON body naming
the cause) and never reaches legacy; the bytes of a smuggled request never reach legacy in any form. Valid
but odd requests (invalid percent-encoding, HTTP/1.0, pipelining, chunk extensions) are forwarded exactly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
import pytest
from hardening_support import Received, answer_raw, make_config, serving, status_of, statuses

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: shop.example\r\n\r\n"
H = b"Host: shop.example\r\n"
LIMIT = 1500  # [server] max_request_body of these tests


@dataclass(frozen=True)
class Case:
    raw: bytes
    statuses: tuple[int, ...]  # the final responses, in order
    forwarded: tuple[str, ...] = ()  # the targets legacy received, in order
    cause: str = ""  # the JSON `error` of the proxy's own answer, when it answers itself


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


CORPUS: dict[str, Case] = {
    # request smuggling: every ambiguous framing is refused before anything is forwarded
    "cl_te": Case(
        b"POST /a HTTP/1.1\r\n"
        + H
        + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        + SMUGGLED,
        (400,),
        cause="bad_request",
    ),
    "te_cl": Case(
        b"POST /a HTTP/1.1\r\n"
        + H
        + b"Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n"
        + SMUGGLED,
        (400,),
        cause="bad_request",
    ),
    "duplicate_content_length": Case(
        b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nContent-Length: 49\r\n\r\nabcd" + SMUGGLED,
        (400,),
        cause="bad_request",
    ),
    "duplicate_equal_content_length": Case(
        b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nContent-Length: 4\r\n\r\nabcd", (400,)
    ),
    "content_length_list": Case(b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 4, 4\r\n\r\nabcd", (400,)),
    "content_length_sign": Case(b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: +4\r\n\r\nabcd", (400,)),
    "transfer_encoding_unknown": Case(
        b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + SMUGGLED, (400,)
    ),
    "transfer_encoding_twice": Case(
        b"POST /a HTTP/1.1\r\n"
        + H
        + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(b"abcd"),
        (400,),
    ),
    "obs_fold": Case(b"GET /a HTTP/1.1\r\n" + H + b"X-Folded: one\r\n  two\r\n\r\n", (400,)),
    "bad_chunk_size": Case(b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", (400,)),
    "chunk_size_bare_lf": Case(
        b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n4\nabcd\n0\n\n" + SMUGGLED, (400,)
    ),
    "smuggling_behind_a_pipelined_request": Case(
        b"GET /first HTTP/1.1\r\n" + H + b"\r\n"
        b"POST /b HTTP/1.1\r\n"
        + H
        + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        + SMUGGLED,
        (400,),  # the whole batch arrives in one read: the parser refuses it before serving /first
    ),
    # sizes: the limits of [server] answer 414 / 431
    "request_line_too_long": Case(
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", (414,), cause="request_line_too_long"
    ),
    "header_too_large": Case(
        b"GET /a HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n", (431,), cause="header_too_large"
    ),
    "header_name_too_large": Case(
        b"GET /a HTTP/1.1\r\n" + H + b"X-" + b"n" * 9000 + b": 1\r\n\r\n", (431,), cause="header_too_large"
    ),
    "too_many_headers": Case(
        b"GET /a HTTP/1.1\r\n" + H + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n",
        (431,),
        cause="too_many_headers",
    ),
    # characters the grammar forbids
    "nul_in_header_value": Case(b"GET /a HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", (400,)),
    "control_char_in_header_value": Case(b"GET /a HTTP/1.1\r\n" + H + b"X-A: a\x01b\r\n\r\n", (400,)),
    "bare_cr_in_header_value": Case(b"GET /a HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", (400,)),
    "space_before_colon": Case(b"GET /a HTTP/1.1\r\n" + H + b"X-A : 1\r\n\r\n", (400,)),
    "bare_lf_line_endings": Case(b"GET /a HTTP/1.1\nHost: shop.example\n\n", (400,)),
    "non_ascii_in_target": Case(b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n", (400,)),
    "space_in_target": Case(b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", (400,)),
    "lowercase_method": Case(b"get /a HTTP/1.1\r\n" + H + b"\r\n", (400,)),
    "unknown_method": Case(b"BREW /pot HTTP/1.1\r\n" + H + b"\r\n", (400,)),
    "unknown_version": Case(b"GET /a HTTP/9.9\r\n" + H + b"\r\n", (400,)),
    "tls_on_the_plain_port": Case(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 32, (400,)),
    "no_host_in_http_1_1": Case(b"GET /a HTTP/1.1\r\n\r\n", (400,)),
    "two_hosts": Case(b"GET /a HTTP/1.1\r\n" + H + b"Host: evil.example\r\n\r\n", (400,)),
    # not an open proxy
    "absolute_form_foreign_host": Case(
        b"GET http://evil.example/a HTTP/1.1\r\nHost: evil.example\r\n\r\n",
        (400,),
        cause="foreign_target_refused",
    ),
    "connect": Case(
        b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
        (405,),
        cause="connect_refused",
    ),
    "asterisk_form": Case(b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n", (400,), cause="foreign_target_refused"),
    # valid, if odd: forwarded byte for byte, legacy decides
    "invalid_percent_encoding": Case(
        b"GET /a%zz%?q=%G1&r=%%%& HTTP/1.1\r\n" + H + b"\r\n", (200,), ("/a%zz%?q=%G1&r=%%%&",)
    ),
    "http_1_0_without_host": Case(b"GET /old HTTP/1.0\r\n\r\n", (200,), ("/old",)),
    "pipelined": Case(
        b"GET /one HTTP/1.1\r\n" + H + b"\r\nGET /two HTTP/1.1\r\n" + H + b"\r\n",
        (200, 200),
        ("/one", "/two"),
    ),
    "chunk_extension": Case(
        b"POST /ext HTTP/1.1\r\n"
        + H
        + b"Transfer-Encoding: chunked\r\n\r\n4;name=value\r\nabcd\r\n0\r\n\r\n",
        (200,),
        ("/ext",),
    ),
    "websocket_upgrade_is_a_plain_request": Case(
        b"GET /ws HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        (200,),
        ("/ws",),
    ),
    # bodies beyond [server] max_request_body
    "declared_body_over_the_limit": Case(
        b"POST /big HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % (LIMIT + 1) + b"x" * (LIMIT + 1),
        (413,),
        cause="request_too_large",
    ),
    "chunked_body_over_the_limit": Case(
        b"POST /big HTTP/1.1\r\n"
        + H
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + chunked(b"x" * 1000, b"y" * 1000),
        (413,),
        cause="request_too_large",
    ),
}


@pytest.mark.parametrize("name", list(CORPUS))
async def test_hostile_request(name: str, legacy: tuple[str, Received]) -> None:
    legacy_url, received = legacy
    case = CORPUS[name]
    async with serving(make_config(legacy_url, server={"max_request_body": LIMIT})) as proxy:
        raw = await asyncio.wait_for(answer_raw(proxy.port, case.raw, responses=len(case.statuses)), 10)
        assert tuple(statuses(raw)) == case.statuses, raw[:300]
        if case.cause:
            body = raw.partition(b"\r\n\r\n")[2]
            assert orjson.loads(body)["error"] == case.cause
        assert tuple(received.targets()) == case.forwarded
        assert b"smuggled" not in received.everything()
        after = await answer_raw(proxy.port, b"GET /after HTTP/1.1\r\n" + H + b"\r\n", responses=1)
        assert status_of(after) == 200  # the proxy serves on, whatever came before
