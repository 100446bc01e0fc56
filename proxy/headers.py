"""Header surgery of a reverse proxy: drop hop-by-hop headers, append X-Forwarded-*, choose each Host."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote_plus

from aiohttp import web
from multidict import CIMultiDict

# RFC 9110 §7.6.1: these describe one connection, not the message; a proxy must not forward them.
HOP_BY_HOP: frozenset[str] = frozenset(
    {"connection", "proxy-connection", "keep-alive", "te", "transfer-encoding", "upgrade", "trailer"}
)
_FORWARDED = ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host")
_DROPPED_FROM_REQUEST = HOP_BY_HOP | {"host", *_FORWARDED}

# What a client authenticates with: withheld from the candidate under strip_credentials_for_candidate.
CREDENTIAL_HEADERS: frozenset[str] = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "apikey"}
)

Header = tuple[str, str]


def connection_tokens(values: Iterable[str]) -> frozenset[str]:
    """The header names a `Connection` header declares hop-by-hop (lowercase)."""
    return frozenset(token.strip().lower() for value in values for token in value.split(",") if token.strip())


def end_to_end(headers: Iterable[Header], *, also_drop: frozenset[str] = frozenset()) -> list[Header]:
    """The headers in order, multi-valued ones kept, minus hop-by-hop ones and those in `also_drop`."""
    pairs = list(headers)
    named = connection_tokens(v for k, v in pairs if k.lower() == "connection")
    dropped = HOP_BY_HOP | named | also_drop
    return [(k, v) for k, v in pairs if k.lower() not in dropped]


def _appended(existing: list[str], value: str) -> str:
    return ", ".join([*existing, value])


def forwarded_request_headers(request: web.BaseRequest) -> list[Header]:
    """The client's end-to-end headers minus Host, with X-Forwarded-For/-Proto/-Host appended."""
    headers = request.headers
    kept = end_to_end(headers.items(), also_drop=_DROPPED_FROM_REQUEST)
    if request.remote:
        kept.append(("X-Forwarded-For", _appended(headers.getall("X-Forwarded-For", []), request.remote)))
    kept.append(("X-Forwarded-Proto", _appended(headers.getall("X-Forwarded-Proto", []), request.scheme)))
    host = headers.get("Host")
    if host:
        kept.append(("X-Forwarded-Host", _appended(headers.getall("X-Forwarded-Host", []), host)))
    return kept


def upstream_request_headers(
    forwarded: list[Header], host: str, marker: str | None = None
) -> CIMultiDict[str]:
    """The headers sent to one upstream: its Host first, the forwarded ones, and the shadow marker if any."""
    headers: CIMultiDict[str] = CIMultiDict((("Host", host),))
    headers.extend(forwarded)
    if marker:
        headers[marker] = "1"
    return headers


def mirror_request_headers(forwarded: list[Header], host: str, marker: str) -> list[Header]:
    """The headers sent to a shadow upstream: its Host, the forwarded ones, and the marker set to 1."""
    lowered = marker.lower()
    return [("Host", host), *(h for h in forwarded if h[0].lower() != lowered), (marker, "1")]


def carries_credentials(headers: Iterable[Header], target: str, params: frozenset[str]) -> bool:
    """Whether a request holds a credential: a CREDENTIAL_HEADERS header, or a query parameter in `params`
    (lowercase names, as [redact] query_params)."""
    if any(name.lower() in CREDENTIAL_HEADERS for name, _ in headers):
        return True
    _, sep, query = target.partition("?")
    if not sep or not params:
        return False
    return any(unquote_plus(part.partition("=")[0]).lower() in params for part in query.split("&"))


def without_credentials(headers: list[Header]) -> list[Header]:
    return [h for h in headers if h[0].lower() not in CREDENTIAL_HEADERS]


def response_headers(upstream: Iterable[Header]) -> CIMultiDict[str]:
    """An upstream response's end-to-end headers, in order, ready to send to the client."""
    return CIMultiDict(end_to_end(upstream))
