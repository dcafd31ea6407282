"""Who is asking, for the rate limits: the client's address (behind a trusted
proxy, from X-Forwarded-For) and the "known browser" cookie of sign-in.

A browser that has signed in to an account gets a device cookie for that
account, MACed with a key derived from the server's secret (OWASP's "device
cookies"). Sign-in attempts that carry it are limited per browser, not per
account, so a guesser elsewhere can slow the account down for strangers but
never lock its owner out.
"""

import base64
import hashlib
import hmac
import ipaddress
import secrets

from aiohttp import web

from .. import app_keys
from ..i18n import Message

DEVICE_COOKIE = "sealroom_device"
DEVICE_LABEL = b"sealroom/v1/device-cookie"
DEVICE_COOKIE_SECONDS = 365 * 24 * 3600


def device_cookie_key(secret_key: bytes) -> bytes:
    return hmac.new(secret_key, DEVICE_LABEL, hashlib.sha256).digest()


@web.middleware
async def forwarded_scheme(request: web.Request, handler):
    """Behind a trusted TLS proxy the connection is plain HTTP: take the scheme
    the client used from X-Forwarded-Proto, so that Origin checks see https."""
    proto = request.headers.get("X-Forwarded-Proto", "")
    if proto in ("http", "https") and proto != request.scheme and \
            (request.remote or "") in request.app[app_keys.config].trusted_proxies:
        request = request.clone(scheme=proto)
    return await handler(request)


def client_address(request: web.Request) -> str:
    """The client's address: the rightmost X-Forwarded-For hop that is not a
    trusted proxy when the peer is one, else the peer. IPv6 counts per /64,
    the block one subscriber usually holds."""
    trusted = request.app[app_keys.config].trusted_proxies
    address = request.remote or ""
    if address in trusted:
        for hop in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
            hop = hop.strip()
            if hop and hop not in trusted:
                address = hop
                break
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def account_subject(username_key: str) -> str:
    """Limits are kept by a hash of the name: Redis never holds who was guessed at."""
    return hashlib.sha256(username_key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _device_mac(request: web.Request, device: str, account: str) -> str:
    mac = hmac.new(request.app[app_keys.device_cookie_key], f"{device}\0{account}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def known_device(request: web.Request, account: str) -> str | None:
    """The browser's id if its device cookie is genuine and for ``account``."""
    device, _, mac = request.cookies.get(DEVICE_COOKIE, "").partition(".")
    if device and mac and hmac.compare_digest(mac.encode(), _device_mac(request, device, account).encode()):
        return device
    return None


def remember_device(request: web.Request, response: web.StreamResponse, account: str) -> None:
    device = known_device(request, account) or secrets.token_urlsafe(16)
    response.set_cookie(DEVICE_COOKIE, f"{device}.{_device_mac(request, device, account)}",
                        max_age=DEVICE_COOKIE_SECONDS, path="/api/", httponly=True, samesite="Strict",
                        secure=request.app[app_keys.config].secure_cookies)


async def limit(request: web.Request, action: str, *subject: str, message: Message | None = None) -> None:
    await request.app[app_keys.rate_limiter].hit(action, *subject, message=message)
