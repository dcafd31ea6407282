"""Faults of the machine, said as sentences: a data directory that cannot be
written, a database that cannot be read, a full disk.

At start-up ``check_data_dir`` and ``describe_startup_failure`` turn them into
one line naming the path and the fix (``python -m server`` prints it and exits
2). At run time ``is_disk_full`` lets the HTTP middleware answer 507 and the
WebSocket send an error frame; nothing is acknowledged before it is written.
"""

import errno
import os
import secrets
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from .config import Config
from .i18n import _

PROBE_BYTES = 64 * 1024  # written and removed at start-up: room for a few requests at least
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
DISK_FULL_MESSAGE = _("The server's disk is full, so this was not saved. Try again later.")


class StartupError(Exception):
    """The server cannot start; the message names the path and the fix."""


def is_disk_full(error: BaseException) -> bool:
    """A write failed because the disk (or the database's disk, or a quota) is full."""
    if isinstance(error, OSError):
        return error.errno in DISK_FULL_ERRNOS
    if isinstance(error, DBAPIError):
        return _db_disk_full(error.orig)
    return _db_disk_full(error)


def _db_disk_full(error) -> bool:
    if isinstance(error, sqlite3.OperationalError):
        return "disk is full" in str(error) or getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    # PostgreSQL: SQLSTATE 53100 disk_full (asyncpg and psycopg both expose it)
    return getattr(error, "sqlstate", None) == "53100" or getattr(error, "pgcode", None) == "53100"


def _why(error: OSError) -> tuple[str, str]:
    """What went wrong with a path, and what the operator should do."""
    if error.errno == errno.EROFS:
        return "is on a read-only file system", "mount it read-write, or point SEALROOM_DATA_DIR elsewhere"
    if error.errno in (errno.EACCES, errno.EPERM):
        return (f"is not writable by this user (uid {os.getuid()})",
                "give this user write access to it (chown/chmod), or point SEALROOM_DATA_DIR elsewhere")
    if error.errno in DISK_FULL_ERRNOS:
        return "is on a full disk", "free some space on that disk (or raise the quota)"
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        return "is not a directory", "point SEALROOM_DATA_DIR at a directory"
    return f"cannot be written ({error.strerror or error})", "check the disk and the permissions"


def check_data_dir(config: Config) -> None:
    """Create the data directory if needed and prove it takes a write, with the
    blob and search directories in it; raise ``StartupError`` otherwise."""
    directories = [config.data_dir]
    if not config.blob_store:
        directories += [config.data_dir / "blobs", config.data_dir / "blobs" / ".tmp"]
    directories.append(config.data_dir / "search")
    for directory in directories:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            _probe(directory)
        except OSError as error:
            why, fix = _why(error)
            raise StartupError(f"the data directory {directory} {why}: {fix}.") from None
    _check_sqlite(config)


def _probe(directory: Path) -> None:
    path = directory / f".sealroom-probe-{secrets.token_hex(4)}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, bytes(PROBE_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _check_sqlite(config: Config) -> None:
    url = make_url(config.effective_database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return
    path = Path(url.database)
    if path.parent != config.data_dir:  # the database lives elsewhere: its directory takes the WAL
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _probe(path.parent)
        except OSError as error:
            why, fix = _why(error)
            raise StartupError(f"the database directory {path.parent} {why}: {fix}.") from None
    if not path.exists():
        return
    try:
        with open(path, "rb") as handle:
            handle.read(100)
    except OSError as error:
        raise StartupError(f"the database {path} cannot be read ({error.strerror}): give this user read and "
                           "write access to it, or restore it from a backup.") from None
    if not os.access(path, os.W_OK):
        raise StartupError(f"the database {path} is read-only: give this user write access to it.")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise StartupError(f"the database {path} cannot be used ({error}): restore it from a backup "
                           "('sealroom-admin restore'), or move it away to start empty.") from None


def describe_startup_failure(error: BaseException, config: Config) -> str | None:
    """One line for a failure while the server started, or None if it is not a known fault."""
    if isinstance(error, StartupError):
        return str(error)
    if is_disk_full(error):
        return (f"the disk holding {config.data_dir} (or the database) is full: free some space, "
                "then start the server again.")
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return f"port {config.port} on {config.host} is already in use: stop the other server or set SEALROOM_PORT."
    if isinstance(error, OSError) and error.filename:
        why, fix = _why(error)
        return f"{error.filename} {why}: {fix}."
    if isinstance(error, SQLAlchemyError):
        where = make_url(config.effective_database_url).render_as_string(hide_password=True)
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        return f"the database {where} cannot be used ({reason}): check SEALROOM_DATABASE_URL and the database server."
    return None
