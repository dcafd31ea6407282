"""Every typed application key, in one place."""

from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from .bus import Bus
from .config import Config

config = web.AppKey("config", Config)
engine = web.AppKey("engine", AsyncEngine)
sessionmaker = web.AppKey("sessionmaker", async_sessionmaker)
bus = web.AppKey("bus", Bus)
pyscript_files = web.AppKey("pyscript_files", dict)
pyclient_zip = web.AppKey("pyclient_zip", bytes)
clock = web.AppKey("clock", Callable[[], datetime])  # optional: tests move time forward
