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
