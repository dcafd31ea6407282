"""``sealroom``: the command-line client (CPython), on ``pyclient.protocol``.

``store`` keeps the profile on disk, ``client`` speaks HTTP and WebSocket to
a server (aiohttp), ``main`` parses the command line and prints.
"""
