# The pure backend in a PyScript worker, for pages without WebCrypto.
# pyclient/browser/worker_backend.py starts it and calls `call`; arguments and
# results cross as JSON text (bytes as base64), which every PyScript worker
# bridge carries without special headers.
import base64
import json

from pyclient.crypto.pure import PureBackend
from pyclient.errors import ProtocolError

_backend = PureBackend()


def _decode(value):
    return base64.b64decode(value["b"]) if isinstance(value, dict) else value


def _encode(value):
    if isinstance(value, (bytes, bytearray)):
        return {"b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    return value


async def call(method, arguments):
    try:
        result = await getattr(_backend, method)(*[_decode(a) for a in json.loads(arguments)])
    except ProtocolError as error:
        return json.dumps({"error": error.kind, "message": error.message})
    return json.dumps({"result": _encode(result)})


__export__ = ["call"]
