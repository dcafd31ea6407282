"""Browser adapters (DOM, fetch, WebSocket, IndexedDB) and the page controller.

The only part of pyclient that imports ``js``.
"""
