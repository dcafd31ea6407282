"""Application factory: ``create_app(config) -> web.Application``."""

import logging
import mimetypes
import shutil
import tempfile
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from search_index import IndexUpdater, open_or_rebuild

from . import app_keys, i18n, vendor
from .bus import Bus, RedisBus
from .blobs import make_blob_store
from .clock import app_now
from .config import Config, ConfigError
from .reindex import documents_loader, index_dir
from .metrics import Metrics
from .ratelimit import RateLimiter
from .db import make_engine, make_sessionmaker, migrate
from .http import api, blobs, health, oidc as oidc_routes, openapi, pages, search
from .http.common import api_errors
from .http.security import security_headers
from .http.sessions import csrf_protection
from .http.connections import Connections
from .http.throttle import device_cookie_key, forwarded_scheme
from .http.ws import close_all, websocket
from .jobs import backup_ctx, clock_ctx, presence_ctx, sweeper_ctx
from .oidc import oidc_ctx

log = logging.getLogger("sealroom")
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".mjs")


async def database_ctx(app: web.Application):
    engine = make_engine(app[app_keys.config].effective_database_url)
    await migrate(engine)
    app[app_keys.engine] = engine
    app[app_keys.sessionmaker] = make_sessionmaker(engine)
    yield
    await engine.dispose()


async def blob_store_ctx(app: web.Application):
    store = make_blob_store(app[app_keys.config])
    app[app_keys.blob_store] = store
    yield
    await store.close()


async def rate_limiter_ctx(app: web.Application):
    config, metrics = app[app_keys.config], app[app_keys.metrics]
    limiter = RateLimiter.from_specs(config.effective_rate_limits, config.redis_url, config.redis_namespace,
                                     on_limited=lambda action: metrics.rate_limited.labels(action).inc())
    app[app_keys.rate_limiter] = limiter
    app[app_keys.device_cookie_key] = device_cookie_key(config.secret_key())
    yield
    await limiter.close()


async def bus_ctx(app: web.Application):
    redis_url = app[app_keys.config].redis_url
    bus = RedisBus(redis_url) if redis_url else Bus()
    bus.backlog = app[app_keys.config].socket_send_queue
    bus.clock = lambda: app_now(app)
    await bus.start()
    app[app_keys.bus] = bus
    yield
    await bus.close()


async def connections_ctx(app: web.Application):
    config = app[app_keys.config]
    connections = Connections(config.max_sockets_per_user, config.max_sockets, config.redis_url,
                              config.redis_namespace)
    await connections.start()
    app[app_keys.connections] = connections
    yield
    await connections.close()


async def search_ctx(app: web.Application):
    """The search index, rebuilt here if missing or damaged. Scaled out, each
    process keeps a private copy, built at start and fed by the bus."""
    config = app[app_keys.config]
    directory = Path(tempfile.mkdtemp(prefix="sealroom-search-")) if config.redis_url else index_dir(config)
    # Opened (or rebuilt from the database) in the background: the server
    # serves meanwhile, and search answers once the index is ready.
    updater = IndexUpdater()
    updater.start(open_or_rebuild(directory, documents_loader(app[app_keys.sessionmaker], now=app_now(app))))
    app[app_keys.search] = updater
    app[app_keys.bus].event_listeners.append(updater.submit)
    yield
    await updater.close()
    if config.redis_url:
        shutil.rmtree(directory, ignore_errors=True)


def create_app(config: Config) -> web.Application:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    pages.check_vendor_files(config)
    app = web.Application(middlewares=[forwarded_scheme, pages.cache_and_compress, api_errors],
                          client_max_size=1024 * 1024)
    app[app_keys.config] = config
    app[app_keys.metrics] = Metrics()
    app.on_response_prepare.append(security_headers)
    wheels = pages.find_wheels(config)
    pyclient_zip = vendor.pyclient_zip(config.pyclient_dir, config.node_modules_dir)
    urls = pages.runtime_urls(config, wheels, pyclient_zip)
    app[app_keys.pyscript_files] = {"wheels": wheels, "version": pages.runtime_version(config, wheels), "urls": urls,
                                    "generated": pages.generated_files(config, urls, pyclient_zip)}
    app[app_keys.catalogs] = i18n.load_catalogs(config.web_dir)
    storage = EncryptedCookieStorage(
        config.secret_key(), cookie_name="sealroom_session", httponly=True, samesite="Strict",
        secure=config.secure_cookies, max_age=config.session_absolute_seconds)
    setup_session(app, storage)
    app.middlewares.append(csrf_protection)
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(config.web_dir / "templates"), autoescape=True)
    app.cleanup_ctx.extend([database_ctx, clock_ctx, blob_store_ctx, rate_limiter_ctx, bus_ctx, connections_ctx,
                            search_ctx, sweeper_ctx, backup_ctx, presence_ctx, oidc_ctx])
    app.add_routes(health.routes)
    app.add_routes(api.routes)
    app.add_routes(blobs.routes)
    app.add_routes(search.routes)
    app.add_routes(openapi.routes)
    app.add_routes(oidc_routes.routes)
    app.add_routes(pages.routes)
    app[app_keys.websockets] = set()
    app[app_keys.draining] = {}
    app.on_shutdown.append(close_all)
    app.router.add_get("/ws", websocket)
    pages.add_static_routes(app, config)
    if config.test_pages:
        from .http import test_pages
        app.add_routes(test_pages.routes)
    return app
