"""``GET /api/search?q=...``: people and rooms, ranked, with the matched spans.

    <- {users: [{id, name, display_name, match: {kind, field, spans, typos}}],
        rooms: [{id, name, display_name: null, match: {...}}]}

``kind`` is exact | words | prefix | fuzzy; ``spans`` are [start, end)
offsets into ``name`` (or ``display_name`` when ``field`` says so), in
characters. Rules and privacy: see ``search_index``.
"""

from aiohttp import web

from search_index import room_event, user_event
from search_index.index import QueryError

from .. import app_keys
from ..domain.errors import Invalid
from ..domain.search import co_member_ids
from .common import transaction, utcnow
from .sessions import authenticate
from .throttle import limit

routes = web.RouteTableDef()


@routes.get("/api/search")
async def search(request: web.Request) -> web.Response:
    user = await authenticate(request)
    await limit(request, "search", user.id, message="You are searching too fast.")
    query = request.query.get("q", "")
    now = utcnow(request)
    async with transaction(request) as db:
        reachable = await co_member_ids(db, user.id, now=now)
    try:
        results = request.app[app_keys.search].index.search(query, user_id=user.id, co_member_ids=reachable, now=now)
    except QueryError as error:
        raise Invalid(str(error)) from None
    return web.json_response(results.to_json())


async def index_user(app: web.Application, user) -> None:
    """Through the bus, so that every process's index hears it."""
    await app[app_keys.bus].publish_event(user_event(user.id, user.username))


async def index_room(app: web.Application, room, members) -> None:
    """After a room is created, renamed or its members change."""
    await app[app_keys.bus].publish_event(
        room_event(room.id, room.name, [member.id for member in members], room.expires_at))
