"""SQLAlchemy 2.0 models. Message bodies and key backups are opaque to the server."""

from datetime import datetime, timezone

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every engine (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))  # NFC; see accounts.validate_display_name
    # What the name looks like (server/domain/identity.py): a look-alike of a taken name is refused.
    username_skeleton: Mapped[str | None] = mapped_column(String(128), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_backup: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(default=False)


class UserKey(Base):
    """A user's earlier public key, kept after a rotation so that old messages'
    signatures still verify, with its sealed private key if the user keeps a
    server-side backup (opaque to the server, like ``User.key_backup``)."""

    __tablename__ = "user_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    key_backup: Mapped[bytes | None] = mapped_column(LargeBinary)
    retired_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserSession(Base):
    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    revoked: Mapped[bool] = mapped_column(default=False)
    # Why a session was ended for its owner (e.g. "password_changed"), told on its next request.
    ended_reason: Mapped[str | None] = mapped_column(String(32), default=None)


class Identity(Base):
    """A social sign-in (OpenID Connect) linked to an account: the provider's
    ``sub`` for this user. It signs in; it never opens the end-to-end keys."""

    __tablename__ = "identities"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HeldUsername(Base):
    """The name of a deleted account, not given out again before ``free_at``
    (the room lifetime): messages under that name may still be in rooms."""

    __tablename__ = "held_usernames"

    username_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    free_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Room(Base):
    __tablename__ = "rooms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    members: Mapped[list["Member"]] = relationship(
        back_populates="room", lazy="raise_on_sql", cascade="all, delete-orphan", passive_deletes=True)


class Member(Base):
    __tablename__ = "members"

    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)

    room: Mapped[Room] = relationship(back_populates="members", lazy="raise_on_sql")
    user: Mapped[User] = relationship(lazy="raise_on_sql")


class Envelope(Base):
    __tablename__ = "envelopes"
    __table_args__ = (
        UniqueConstraint("room_id", "message_id"),
        Index("ix_envelopes_room_seq", "room_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Blob(Base):
    """An encrypted attachment. The row is written only after the store holds
    the whole blob, so nothing ever references a partial upload."""

    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    uploader_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Upload(Base):
    """An upload in progress: its parts are stored as temporary blobs until
    ``complete`` assembles them into one blob in a single atomic put."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Chosen at the start, so that whatever a crash leaves of the assembly
    # (a temporary file, an open multipart upload) is found by this id.
    blob_id: Mapped[str] = mapped_column(String(32), unique=True)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # the last part, or the start


class UploadPart(Base):
    __tablename__ = "upload_parts"

    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    blob_id: Mapped[str] = mapped_column(String(32), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)


class ServerClock(Base):
    """The latest time the server has seen (one row). Expiry is decided by
    ``max(now, high_water)``, so setting the clock back revives nothing."""

    __tablename__ = "server_clock"

    id: Mapped[int] = mapped_column(primary_key=True)
    high_water: Mapped[datetime] = mapped_column(UTCDateTime)


class RequestNonce(Base):
    """Nonces of signed blob requests, kept for their validity window: each is single use."""

    __tablename__ = "request_nonces"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Invite(Base):
    """A share link into a room. Only the token's SHA-256 is stored, so a
    database leak does not hand out working links."""

    __tablename__ = "invites"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServerProcess(Base):
    """One running server process and its open WebSockets, refreshed every few
    seconds, so ``sealroom-admin stats`` can count connections across processes."""

    __tablename__ = "server_processes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connections: Mapped[int]
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
