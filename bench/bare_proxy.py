"""Reference point: a bare aiohttp proxy forwarding to legacy, mirroring fire-and-forget, comparing nothing.

The issue's baseline ("a bare aiohttp proxy that mirrors fire-and-forget reached about 2,850 req/s here") as a
scenario of its own, measured in the same run as shadow-proxy: on a shared machine the ratio between the two
means more than either absolute number.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Sequence

import aiohttp
from aiohttp import web

SESSION = web.AppKey("session", aiohttp.ClientSession)
MIRRORS = web.AppKey("mirrors", set[asyncio.Task[None]])
KEPT_HEADERS = ("Content-Type", "Content-Encoding", "ETag", "Last-Modified")


async def _mirror(session: aiohttp.ClientSession, method: str, url: str, body: bytes) -> None:
    try:
        async with session.request(method, url, data=body or None) as response:
            await response.read()
    except (aiohttp.ClientError, TimeoutError):
        pass  # a reference proxy: the candidate's fate is not its concern


def build_app(legacy: str, candidate: str) -> web.Application:
    async def forward(request: web.Request) -> web.Response:
        session, target = request.app[SESSION], request.rel_url.path_qs
        body = await request.read()
        mirror = asyncio.create_task(_mirror(session, request.method, candidate + target, body))
        request.app[MIRRORS].add(mirror)
        mirror.add_done_callback(request.app[MIRRORS].discard)
        async with session.request(request.method, legacy + target, data=body or None) as response:
            payload = await response.read()
            headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
            return web.Response(status=response.status, body=payload, headers=headers)

    async def client_session(app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
            app[SESSION] = session
            app[MIRRORS] = set()
            yield

    app = web.Application()
    app.cleanup_ctx.append(client_session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_proxy", description=__doc__)
    parser.add_argument("--legacy", required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = build_app(args.legacy.rstrip("/"), args.candidate.rstrip("/"))
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
