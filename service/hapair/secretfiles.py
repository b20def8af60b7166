"""Secrets off the command line: read from files, written 0600 from creation, kept out of hooks.

``ps`` shows every process's argv to every user, and a role hook inherits the environment it is
given; so the pair key and the admin token come from files (``--pair-key-file``,
``--admin-token-file``, ``HAPAIR_*_FILE``), files hapair writes are created with mode 0600 (never
widened then narrowed), and a hook's environment is built from a clean copy.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

MIN_PAIR_KEY_CHARS = 16
MIN_ADMIN_TOKEN_CHARS = 16

# Environment variables that hold a secret, or tell where one is: never handed to a hook.
SECRET_ENV = frozenset(
    {
        "HAPAIR_PAIR_KEY",
        "HAPAIR_PAIR_KEY_FILE",
        "HAPAIR_ADMIN_TOKEN",
        "HAPAIR_ADMIN_TOKEN_FILE",
        "HAPAIR_TOKEN",
        "HAPAIR_REDIS",  # a --redis URL may carry a password
        "HAPAIR_REDIS_FILE",
    }
)


class SecretError(ValueError):
    """A secret that cannot be used; the message says why (never the secret)."""


def new_pair_key() -> str:
    """A new pair key: 43 URL-safe characters (256 bits)."""
    return secrets.token_urlsafe(32)


def read_secret(path: str | Path, what: str) -> str:
    """The first line of a secret file, stripped: SecretError when it is unsafe, unreadable or
    empty (``read_checked``; a 0644 file of this user is fine, it is not group/other writable)."""
    return read_checked(path, what, private=False)


def read_checked(path: str | Path, what: str, *, private: bool) -> str:
    """The first line of a secret file, stripped, read only if nobody else could have put it
    there: the one reader of every secret file (SPEC 6 "Files").

    Opened with ``O_NOFOLLOW`` (a symlink in place of the file is refused, never followed) and
    ``O_NONBLOCK`` (a FIFO planted there cannot hang the start); then, on the open descriptor
    (no race with a rename): a regular file, owned by this user (or root, who could change
    anything anyway: systemd's credentials are root's files this user may read), and writable
    by nobody else (group or others). ``private``: not readable by them either (0600: a
    password).

    Raises:
        SecretError: The message names the path and the reason, never the content.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SecretError(
                f"the {what} file {path} is a symbolic link: hapair does not follow one "
                "(give the file itself)"
            ) from None
        raise SecretError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        mode = stat.S_IMODE(st.st_mode)
        if not stat.S_ISREG(st.st_mode):
            raise SecretError(f"the {what} file {path} is not a regular file")
        if st.st_uid not in (os.geteuid(), 0):
            raise SecretError(f"the {what} file {path} is owned by another user (uid {st.st_uid})")
        if private and mode & 0o077:
            raise SecretError(
                f"the {what} file {path} has mode {mode:o}: it must be 0600 "
                "(chmod 600), as it holds a password"
            )
        if mode & 0o022:
            raise SecretError(
                f"the {what} file {path} has mode {mode:o}: group or others may write it "
                "(chmod 600)"
            )
        try:
            text = f.read().decode()
        except UnicodeDecodeError:
            raise SecretError(f"the {what} file {path} is not UTF-8 text") from None
    value = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not value:
        raise SecretError(f"the {what} file {path} is empty")
    return value


def choose(value: str | None, file: str | None, *, what: str, flag: str) -> str | None:
    """A secret given either as a value or as a file (not both)."""
    if value and file:
        raise SecretError(f"give {flag} or {flag}-file, not both")
    if file:
        return read_secret(file, what)
    return value or None


def read_private(path: str | Path, what: str) -> str:
    """The first line of a file only its owner (this user) may read: ``read_checked`` with
    ``private`` (refused when readable by group or others too: it holds a password)."""
    return read_checked(path, what, private=True)


def choose_redis_url(url: str | None, file: str | None) -> str | None:
    """``--redis URL`` or the URL in ``--redis-file F`` (0600), not both; never shown in errors."""
    if url and file:
        raise SecretError("give --redis or --redis-file, not both")
    if not file:
        return url or None
    value = read_private(file, "Redis URL")
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in {"redis", "rediss", "unix"}:
        raise SecretError(
            f"the Redis URL file {file} does not hold a redis://, rediss:// or unix:// URL"
        )
    return value


def check_pair_key(key: str | None) -> None:
    """SecretError unless the pair key is absent or has at least 16 characters."""
    if key is not None and len(key) < MIN_PAIR_KEY_CHARS:
        raise SecretError(
            f"the pair key has {len(key)} characters; it needs at least {MIN_PAIR_KEY_CHARS} "
            "(`hapair key generate` prints a new one)"
        )


def check_admin_token(token: str | None) -> None:
    """SecretError unless the admin token is absent or has at least 16 characters."""
    if token is not None and len(token) < MIN_ADMIN_TOKEN_CHARS:
        raise SecretError(
            f"the admin token has {len(token)} characters; it needs at least "
            f"{MIN_ADMIN_TOKEN_CHARS} (e.g. python3 -c 'import secrets; "
            'print("hp_" + secrets.token_urlsafe(32))\')'
        )


def write_secret(path: Path, value: str) -> None:
    """Creates ``path`` with mode 0600 from the start and writes ``value`` (fails if it exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")


def read_or_create(path: Path, make: object) -> str:
    """The secret in ``path``, or a new one from ``make()`` written 0600.

    An existing file is read only if it is this user's own 0600 file, not through a symlink
    (``read_private``): a key or token planted by another user is refused, never trusted."""
    if os.path.lexists(path):
        return read_private(path, path.name)
    assert callable(make)
    value = str(make())
    write_secret(path, value)
    return value


def hook_environment(
    extra: Mapping[str, str], base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a role hook: ``base`` (default ``os.environ``) without any secret,
    plus ``extra`` (``HAPAIR_ROLE`` and friends).

    Every ``HAPAIR_*`` variable of the unit's own environment is dropped (they configure the
    unit, and some hold or locate secrets); only the hook's own ``extra`` ones are set.
    """
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not k.startswith("HAPAIR_") and k not in SECRET_ENV}
    env.update(extra)
    return env


def scrub_process_environment() -> None:
    """Removes secret-bearing ``HAPAIR_*`` variables from this process's environment, once
    they have been read, so no child (a role hook, a redis-server) inherits them."""
    for name in SECRET_ENV:
        os.environ.pop(name, None)


_PR_SET_DUMPABLE = 4


def make_undumpable() -> None:
    """``prctl(PR_SET_DUMPABLE, 0)``: once this process has read its secrets, its
    ``/proc/PID/environ`` (which still holds the ``HAPAIR_*`` variables it was started with:
    ``scrub_process_environment`` only drops them from what children inherit), its memory and
    its file descriptors are root's only, and it cannot be ptraced or dump core. A role hook
    running as the same user without ``CAP_SYS_PTRACE`` can no longer read them there.

    ``execve`` makes a process dumpable again: the embedded redis-server and the hooks are not
    affected. Linux only.

    Raises:
        OSError: The call failed (no libc ``prctl``, or refused).
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError) as exc:
        raise OSError(f"prctl is not available: {exc}") from None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    if prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_DUMPABLE, 0): {os.strerror(err)}")
