import secrets
import socket

import pytest

from server.app import create_app
from server.config import Config


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(data_dir=tmp_path / "data")


@pytest.fixture
async def app_server(aiohttp_server, config):
    return await aiohttp_server(create_app(config))


@pytest.fixture
def new_client(aiohttp_client, app_server):
    """Each call is another person: a client with its own cookie jar."""
    async def make():
        return await aiohttp_client(app_server)
    return make


@pytest.fixture
async def client(new_client):
    return await new_client()


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real S3 API (moto's standalone server) on loopback, for the whole run."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint, monkeypatch):
    """A fresh bucket; AWS_* variables point botocore at moto's fake account."""
    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing"), ("AWS_REGION", "us-east-1"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = f"sealroom-{secrets.token_hex(6)}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return bucket
