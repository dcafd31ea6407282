"""Probes and metrics for the load balancer and the operator.

    GET /healthz  -> 200 {"status": "ok"}        the process answers (liveness)
    GET /readyz   -> 200 {"status": "ready", "checks": {...}}
                  -> 503 {"status": "not ready", "checks": {"database": "...", ...}}
                     the database, the bus and the blob store answer, and the
                     process is not shutting down (readiness)
    GET /metrics  -> Prometheus text exposition (prometheus-client)

None of them needs a session. /metrics holds only counts and times; keep it
off the public internet at the proxy all the same (docs/operations.md).
"""

import asyncio

from aiohttp import web
from sqlalchemy import text

from .. import app_keys
from ..blobs import BlobNotFound

routes = web.RouteTableDef()

CHECK_TIMEOUT = 2.0  # seconds; a probe that hangs is a failed probe
PROBE_BLOB = "0" * 32  # never stored: asking for its size shows that the store answers


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def _database(app: web.Application) -> None:
    async with app[app_keys.engine].connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _bus(app: web.Application) -> None:
    await app[app_keys.bus].ping()


async def _store(app: web.Application) -> None:
    store = app[app_keys.blob_store]
    root = getattr(store, "root", None)
    if root is not None and not await asyncio.to_thread(root.is_dir):
        raise OSError(f"{root} is missing")
    try:
        await store.size(PROBE_BLOB)
    except BlobNotFound:
        pass


async def _check(probe, app: web.Application) -> str:
    try:
        await asyncio.wait_for(probe(app), CHECK_TIMEOUT)
    except Exception as error:  # any failure means not ready; the name is enough, never a traceback
        return f"failed: {type(error).__name__}"
    return "ok"


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    app = request.app
    names = ("database", "bus", "store")
    results = await asyncio.gather(*(_check(probe, app) for probe in (_database, _bus, _store)))
    checks = dict(zip(names, results))
    if app[app_keys.draining]:
        checks["shutdown"] = "in progress"
    ready = all(result == "ok" for result in checks.values())
    return web.json_response({"status": "ready" if ready else "not ready", "checks": checks},
                             status=200 if ready else 503, headers={"Cache-Control": "no-store"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = request.app[app_keys.metrics].exposition()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8",
                                            "Cache-Control": "no-store"})
