"""Configuration from ``SEALROOM_*`` environment variables, with safe defaults."""

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    pass


def _int(env, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _bounded(env, name: str, default: int, maximum: int) -> int:
    value = _int(env, name, default)
    if not 1 <= value <= maximum:
        raise ConfigError(f"{name} must be between 1 and {maximum}, got {value}")
    return value


_OIDC_FIELDS = {"name", "issuer", "client_id", "client_secret"}


def _oidc_providers(raw: str) -> tuple:
    try:
        providers = json.loads(raw)
    except ValueError:
        raise ConfigError("SEALROOM_OIDC_PROVIDERS must be a JSON list of providers") from None
    if not isinstance(providers, list) or not all(
            isinstance(p, dict) and _OIDC_FIELDS <= set(p) and set(p) <= _OIDC_FIELDS | {"label"}
            and all(isinstance(v, str) and v for v in p.values()) for p in providers):
        raise ConfigError('SEALROOM_OIDC_PROVIDERS: each provider is {"name", "issuer", "client_id", '
                          '"client_secret"} and an optional "label", all non-empty text')
    if len({p["name"] for p in providers}) != len(providers):
        raise ConfigError("SEALROOM_OIDC_PROVIDERS: two providers have the same name")
    return tuple(providers)


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str = ""
    auth_attempts: int = 10  # the unit of the sign-in policy (server/ratelimit.py auth_limits)
    rate_limits: dict = field(default_factory=dict)  # action -> spec; overrides DEFAULT_LIMITS (SEALROOM_RATE_<ACTION>)
    redis_namespace: str = "sealroom"  # prefix of the rate-limit and connection keys in Redis
    trusted_proxies: tuple = ()  # addresses whose X-Forwarded-For is believed (nginx in front)
    max_sockets_per_user: int = 16  # WebSocket connections of one user, across processes with Redis
    max_sockets: int = 10_000  # WebSocket connections on one process
    socket_send_queue: int = 1000  # frames queued for one socket before it is closed as too slow
    max_open_uploads: int = 4  # uploads in progress for one user at once
    shutdown_seconds: int = 10  # on SIGTERM, how long requests in flight get before they are cut off
    secure_cookies: bool = False
    session_idle_seconds: int = 12 * 3600
    session_absolute_seconds: int = 7 * 24 * 3600
    room_retention_seconds: int = 7 * 24 * 3600
    max_room_members: int = 32
    blob_store: str = ""  # "" = DATA_DIR/blobs; "s3://bucket/prefix" = S3-compatible
    s3_endpoint_url: str = ""  # "" = AWS; set for MinIO, R2, B2... (credentials: AWS_* variables)
    s3_region: str = "us-east-1"
    sweep_interval_seconds: int = 15  # expired rooms are deleted within this (plus one sweep) of expiry
    orphan_grace_seconds: int = 3600  # a blob with no row is removed only once this old
    backup_dir: Path | None = None  # None = DATA_DIR/backups
    backup_interval_seconds: int = 24 * 3600  # 0 turns scheduled backups off
    backup_keep_seconds: int = 0  # 0 = the room retention; longer only with the flag below
    backup_keep_beyond_retention: bool = False  # the operator's explicit yes to backups outliving the retention
    max_upload_bytes: int = 100 * 1024 * 1024
    user_quota_bytes: int = 1024 * 1024 * 1024
    web_dir: Path = REPO_ROOT / "web"
    node_modules_dir: Path = REPO_ROOT / "node_modules"
    wheels_dir: Path = REPO_ROOT / "build" / "wheels"
    pyclient_dir: Path = REPO_ROOT / "pyclient"
    test_pages: bool = False  # SEALROOM_TEST_PAGES=1 mounts /test/ (browser tests and benchmarks only)
    # OpenID Connect providers: [{"name", "issuer", "client_id", "client_secret", "label"}] (server/oidc.py)
    oidc_providers: tuple = ()
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env=None) -> "Config":
        env = os.environ if env is None else env
        data_dir = Path(env.get("SEALROOM_DATA_DIR") or "var").resolve()
        return cls(
            host=env.get("SEALROOM_HOST") or "127.0.0.1",
            port=_int(env, "SEALROOM_PORT", 8080),
            data_dir=data_dir,
            database_url=env.get("SEALROOM_DATABASE_URL") or "",
            redis_url=env.get("SEALROOM_REDIS_URL") or "",
            auth_attempts=_int(env, "SEALROOM_AUTH_ATTEMPTS", 10),
            rate_limits={name[len("SEALROOM_RATE_"):].lower(): value for name, value in env.items()
                         if name.startswith("SEALROOM_RATE_") and value},
            redis_namespace=env.get("SEALROOM_REDIS_NAMESPACE") or "sealroom",
            trusted_proxies=tuple(p.strip() for p in env.get("SEALROOM_TRUSTED_PROXIES", "").split(",") if p.strip()),
            max_sockets_per_user=_bounded(env, "SEALROOM_MAX_SOCKETS_PER_USER", 16, 100_000),
            max_sockets=_bounded(env, "SEALROOM_MAX_SOCKETS", 10_000, 1_000_000),
            socket_send_queue=_bounded(env, "SEALROOM_SOCKET_SEND_QUEUE", 1000, 1_000_000),
            max_open_uploads=_bounded(env, "SEALROOM_MAX_OPEN_UPLOADS", 4, 1000),
            shutdown_seconds=_bounded(env, "SEALROOM_SHUTDOWN_SECONDS", 10, 600),
            secure_cookies=env.get("SEALROOM_SECURE_COOKIES", "") in ("1", "true", "yes"),
            room_retention_seconds=_int(env, "SEALROOM_ROOM_RETENTION_SECONDS", 7 * 24 * 3600),
            blob_store=env.get("SEALROOM_BLOB_STORE") or "",
            s3_endpoint_url=env.get("SEALROOM_S3_ENDPOINT_URL") or "",
            s3_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            sweep_interval_seconds=_bounded(env, "SEALROOM_SWEEP_INTERVAL_SECONDS", 15, 3600),
            orphan_grace_seconds=_int(env, "SEALROOM_ORPHAN_GRACE_SECONDS", 3600),
            backup_dir=Path(env["SEALROOM_BACKUP_DIR"]).resolve() if env.get("SEALROOM_BACKUP_DIR") else None,
            backup_interval_seconds=_int(env, "SEALROOM_BACKUP_INTERVAL_SECONDS", 24 * 3600),
            backup_keep_seconds=_int(env, "SEALROOM_BACKUP_KEEP_SECONDS", 0),
            backup_keep_beyond_retention=env.get("SEALROOM_BACKUP_KEEP_BEYOND_RETENTION", "") in ("1", "true", "yes"),
            max_upload_bytes=_bounded(env, "SEALROOM_MAX_UPLOAD_BYTES", 100 * 1024 * 1024, 2 * 1024 ** 3),
            user_quota_bytes=_int(env, "SEALROOM_USER_QUOTA_BYTES", 1024 ** 3),
            test_pages=env.get("SEALROOM_TEST_PAGES", "") == "1",
            oidc_providers=_oidc_providers(env.get("SEALROOM_OIDC_PROVIDERS") or "[]"),
        )

    def __post_init__(self):
        from .ratelimit import ACTIONS, LimitSpecError, parse_limit

        for action, spec in self.rate_limits.items():
            if action not in ACTIONS:
                raise ConfigError(f"SEALROOM_RATE_{action.upper()}: there is no such action; "
                                  f"the actions are {', '.join(a.upper() for a in ACTIONS)}")
            try:
                parse_limit(spec)
            except LimitSpecError as error:
                raise ConfigError(f"SEALROOM_RATE_{action.upper()}: {error}") from None
        if self.room_retention_seconds < 1:
            raise ConfigError("SEALROOM_ROOM_RETENTION_SECONDS must be at least 1.")
        if self.backup_keep_seconds > self.room_retention_seconds and not self.backup_keep_beyond_retention:
            raise ConfigError(
                "SEALROOM_BACKUP_KEEP_SECONDS must not be longer than the room retention "
                f"({self.room_retention_seconds} s): a backup must not outlive the rooms it holds. "
                "To keep backups longer anyway, also set SEALROOM_BACKUP_KEEP_BEYOND_RETENTION=1.")
        if self.backup_interval_seconds < 0 or self.backup_keep_seconds < 0 or self.orphan_grace_seconds < 0:
            raise ConfigError("Backup and orphan-sweep durations cannot be negative.")

    @property
    def effective_rate_limits(self) -> dict[str, str]:
        from .ratelimit import DEFAULT_LIMITS, auth_limits

        return {**DEFAULT_LIMITS, **auth_limits(self.auth_attempts), **self.rate_limits}

    @property
    def effective_backup_dir(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"

    @property
    def effective_backup_keep_seconds(self) -> int:
        return self.backup_keep_seconds or self.room_retention_seconds

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'sealroom.db'}"

    def secret_key(self) -> bytes:
        """32 random bytes made on first run and kept in the data directory."""
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
        key = path.read_bytes()
        if len(key) != 32:
            raise ConfigError(f"{path} is damaged: expected 32 bytes, found {len(key)}")
        return key
