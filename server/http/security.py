"""Security headers on every response, streamed ones included.

They are set from ``on_response_prepare``, not from a middleware: a
StreamResponse (a blob download, a static file) sends its headers while the
handler runs, before any middleware sees it.
"""

from aiohttp import web

# 'unsafe-eval': PyScript core builds functions with Function() while it
# boots the interpreter; drop it once PyScript no longer does. Pyodide needs
# 'wasm-unsafe-eval' to compile its WebAssembly. Never 'unsafe-inline'.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SERVER = "SealRoom"  # no versions: they only help an attacker pick an exploit


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``app.on_response_prepare`` handler."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    # Cross-origin isolation gives the page SharedArrayBuffer, which PyScript
    # needs for the worker that runs the client to reach the DOM synchronously.
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Embedder-Policy", "require-corp")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "geolocation=(), microphone=(self), camera=(self)")
    headers["Server"] = SERVER
    if request.path.startswith("/api/"):
        # Answers hold session data (the CSRF token, the sealed private key):
        # no browser or proxy cache may keep them.
        headers["Cache-Control"] = "no-store"
