"""A promise-free IndexedDB key-value store, wrapped in asyncio futures.

One database ``sealroom`` with object stores ``keys`` (sealed private keys,
by user id) and ``pins`` (first-seen key fingerprints of contacts).
"""

import asyncio

import js
from pyodide.ffi import create_once_callable, to_js

DB_NAME = "sealroom"
DB_VERSION = 1
STORES = ("keys", "pins")


def _wait(request):
    future = asyncio.get_running_loop().create_future()

    def success(_event):
        if not future.done():
            future.set_result(request.result)

    def failure(_event):
        if not future.done():
            future.set_exception(RuntimeError(f"IndexedDB: {request.error and request.error.message}"))

    request.onsuccess = create_once_callable(success)
    request.onerror = create_once_callable(failure)
    return future


class Store:
    def __init__(self, db):
        self._db = db

    @classmethod
    async def open(cls) -> "Store":
        request = js.indexedDB.open(DB_NAME, DB_VERSION)

        def upgrade(_event):
            db = request.result
            for name in STORES:
                if not db.objectStoreNames.contains(name):
                    db.createObjectStore(name)

        request.onupgradeneeded = create_once_callable(upgrade)
        return cls(await _wait(request))

    async def get(self, store: str, key: str):
        value = await _wait(self._db.transaction(store, "readonly").objectStore(store).get(key))
        if value is None or value is js.undefined:
            return None
        return value.to_py() if hasattr(value, "to_py") else value

    async def put(self, store: str, key: str, value) -> None:
        js_value = to_js(value, dict_converter=js.Object.fromEntries)
        await _wait(self._db.transaction(store, "readwrite").objectStore(store).put(js_value, key))

    async def delete(self, store: str, key: str) -> None:
        await _wait(self._db.transaction(store, "readwrite").objectStore(store).delete(key))
