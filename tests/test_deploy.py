"""The reference deployment for real: deploy/nginx.conf (TLS, the WebSocket
upgrade) in front of two server processes on PostgreSQL and Redis. A page's
socket survives its process being stopped by reconnecting through nginx to
the other one."""

import asyncio
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.browser.conftest import free_port, start_server
from tests.helpers import register
from tests.test_scale_out import REDIS_URL, pg_url  # noqa: F401 (a fixture)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONF = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"


def _certificate(directory: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealroom test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return directory / "fullchain.pem"


def _nginx_conf(directory: Path, backends: list[int], https_port: int, http_port: int) -> Path:
    """deploy/nginx.conf with this test's ports and paths, and nothing else changed."""
    text = CONF.read_text()
    for old, new in (("127.0.0.1:8081", f"127.0.0.1:{backends[0]}"), ("127.0.0.1:8082", f"127.0.0.1:{backends[1]}"),
                     ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
                     ("listen 80;", f"listen 127.0.0.1:{http_port};"),
                     ("/etc/sealroom/tls", str(directory)), ("/run/sealroom-nginx.pid", str(directory / "nginx.pid")),
                     ("/var/lib/nginx", str(directory)), ("worker_processes auto;", "worker_processes 1;")):
        assert old in text, old
        text = text.replace(old, new)
    path = directory / "nginx.conf"
    path.write_text(text)
    return path


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {port}")


async def _connections(backend) -> float:
    async with aiohttp.ClientSession() as session:
        text = await (await session.get(backend.url + "/metrics")).text()
    return float(next(line for line in text.splitlines() if line.startswith("sealroom_websocket_connections ")).split()[1])


async def test_nginx_reference_deployment_carries_pages_across_a_process_restart(pg_url, tmp_path):  # noqa: F811
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: 'make test' installs Debian's nginx package.")
    tls = tmp_path / "nginx"
    tls.mkdir()
    os.chmod(tmp_path, 0o755)  # nginx's worker runs as an unprivileged user
    os.chmod(tls, 0o755)
    cafile = _certificate(tls)
    env = {"SEALROOM_DATABASE_URL": pg_url, "SEALROOM_REDIS_URL": REDIS_URL, "SEALROOM_AUTH_ATTEMPTS": "10000",
           "SEALROOM_REDIS_NAMESPACE": f"sealroom-test-{secrets.token_hex(6)}", "SEALROOM_SECURE_COOKIES": "1",
           "SEALROOM_TRUSTED_PROXIES": "127.0.0.1", "SEALROOM_SHUTDOWN_SECONDS": "2"}
    backends = [start_server(tmp_path / "shared", tmp_path / f"{name}.log", **env) for name in ("a", "b")]
    https_port, http_port = free_port(), free_port()
    conf = _nginx_conf(tls, [int(b.url.rsplit(":", 1)[1]) for b in backends], https_port, http_port)
    nginx = subprocess.Popen([NGINX, "-p", str(tls), "-c", str(conf), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=open(tmp_path / "nginx.log", "wb"))
    try:
        _wait_for_port(https_port)
        site = f"https://127.0.0.1:{https_port}"
        context = ssl.create_default_context(cafile=str(cafile))
        connector = aiohttp.TCPConnector(ssl=context)
        async with aiohttp.ClientSession(base_url=site, connector=connector,
                                         cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(f"http://127.0.0.1:{http_port}/", allow_redirects=False) as plain:
                assert plain.status == 301 and plain.headers["Location"].startswith("https://")
            await register(session, "alice", None)  # Secure cookies, CSRF and all, through TLS
            assert (await session.get("/readyz")).status == 200
            assert (await session.get("/metrics")).status == 403
            ws = await session.ws_connect("/ws", headers={"Origin": site})
            assert json.loads((await ws.receive(timeout=10)).data)["type"] == "hello"

            counts = [await _connections(backend) for backend in backends]
            serving = backends[counts.index(1.0)]
            serving.process.send_signal(signal.SIGTERM)
            closing = await ws.receive(timeout=10)
            assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 1001
            assert serving.process.wait(15) == 0
            # The page reconnects, through nginx, to the process that is left.
            for _ in range(50):  # bounded: nginx may try the stopped process first
                try:
                    ws = await session.ws_connect("/ws", headers={"Origin": site})
                    break
                except aiohttp.WSServerHandshakeError:
                    await asyncio.sleep(0.1)
            assert json.loads((await ws.receive(timeout=10)).data)["type"] == "hello"
            assert (await session.get("/api/me")).status == 200
            await ws.close()
    finally:
        nginx.terminate()
        nginx.wait(10)
        for backend in backends:
            backend.stop()
