"""Social identities (OpenID Connect) linked to accounts.

An identity signs a person in; it never touches the end-to-end keys, which
stay sealed under a secret only the person holds (docs/protocol.md 4.6). An
account made through social sign-in has no password: its ``password_hash``
is the unusable marker below, so ``POST /api/login`` can never succeed for it.
"""

import re
import secrets
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Identity, User
from . import accounts
from ..i18n import _
from .errors import Conflict, Invalid, NotFound

NO_PASSWORD = "!no-password"  # not an argon2 hash: every check against it fails


def has_password(user: User) -> bool:
    return not user.password_hash.startswith("!")


async def find_user(db: AsyncSession, provider: str, subject: str) -> User | None:
    return await db.scalar(select(User).join(Identity, Identity.user_id == User.id).where(
        Identity.provider == provider, Identity.subject == subject))


async def link(db: AsyncSession, user: User, provider: str, subject: str, *, now: datetime) -> None:
    existing = await db.get(Identity, (provider, subject))
    if existing is not None and existing.user_id != user.id:
        raise Conflict(_("This sign-in is already linked to another SealRoom account."))
    if existing is None:
        db.add(Identity(provider=provider, subject=subject, user_id=user.id, created_at=now))
        await db.flush()


async def list_identities(db: AsyncSession, user_id: str) -> list[Identity]:
    return list(await db.scalars(select(Identity).where(Identity.user_id == user_id).order_by(Identity.provider)))


async def unlink(db: AsyncSession, user: User, provider: str) -> None:
    """Only while the account keeps a way to sign in: a password or another identity."""
    mine = await list_identities(db, user.id)
    if not any(identity.provider == provider for identity in mine):
        raise NotFound(_("No sign-in from this provider is linked to your account."))
    if not has_password(user) and len(mine) == 1:
        raise Conflict(_("This is your only way to sign in: link another provider before you unlink this one."))
    await db.execute(delete(Identity).where(Identity.user_id == user.id, Identity.provider == provider))


_NAME_CHARS = re.compile(r"[^\w.\-]")


async def create_social_user(db: AsyncSession, *, provider: str, subject: str, claims: dict, now: datetime) -> User:
    """A new account for a first social sign-in, named after the provider's
    ``preferred_username`` (or the e-mail's local part), made unique."""
    wanted = claims.get("preferred_username") or str(claims.get("email", "")).split("@")[0] or "user"
    base = (_NAME_CHARS.sub("", str(wanted)) or "user")[:24].ljust(3, "0")
    for attempt in range(20):
        username = base if attempt == 0 else f"{base}-{secrets.token_hex(2)}"
        try:
            accounts.validate_username(username)
            user = await accounts.create_user(db, username=username, password_hash=NO_PASSWORD, now=now)
        except (Conflict, Invalid):
            continue
        await link(db, user, provider, subject, now=now)
        return user
    raise Conflict(_("No free username could be made for this sign-in. Register with a password instead."))


async def count(db: AsyncSession, user_id: str) -> int:
    return await db.scalar(select(func.count()).select_from(Identity).where(Identity.user_id == user_id))
