"""The files hapair writes and the directories it trusts (SPEC 6 "Files"), in one place.

- :func:`write_atomic`: write-and-rename. The new file is created beside the target with
  ``O_CREAT | O_EXCL`` (never through a symlink, never an existing file) in its final mode from
  the first byte: 0600 for anything of a unit's (secrets, settings, Redis configuration), 0644
  only where another user's program must read it (HAProxy's peers file); fsynced, then renamed
  over the target, so a reader never sees half a file and a symlink planted at the target is
  replaced, not followed.
- :func:`read_owned` and :func:`open_append`: a file of hapair's own in its data dir is opened
  with ``O_NOFOLLOW`` (a symlink planted there is refused, naming the path: never read from or
  written through) and used only if it is a regular file this user owns (``read_owned``: also
  not writable by group or others).
- :func:`check_private_dir`: a directory that holds secrets must be a directory (not a
  symlink), owned by this user and not writable by group or others; refused otherwise, with
  the path and the reason.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path


class UnsafePath(OSError):
    """A directory or file hapair refuses to trust; the message names the path and why."""


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """``data`` into ``path`` by write-and-rename, the file in ``mode`` from its creation.

    Raises:
        OSError: the directory is not writable.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, mode)
    try:
        os.fchmod(fd, mode)  # the umask narrows the creation mode; 0644 must stay 0644
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _symlink_refused(path: Path, exc: OSError) -> OSError:
    if exc.errno == errno.ELOOP:
        return UnsafePath(f"{path} is a symbolic link: hapair does not follow one (remove it)")
    return exc


def read_owned(path: Path) -> bytes:
    """The whole content of ``path``, a file hapair keeps in its data dir, read without following
    a symlink: refused (``UnsafePath``, naming the path) when it is a symlink, not a regular file
    (a FIFO does not hang the read: ``O_NONBLOCK``), owned by another user than this one (or
    root), or writable by group or others. The checks are made on the open descriptor.

    Raises:
        FileNotFoundError: There is no such file (nor a symlink of that name).
        UnsafePath: See above.
        OSError: It cannot be read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise _symlink_refused(path, exc) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath(f"{path} is not a regular file")
        if st.st_uid not in (os.geteuid(), 0):
            raise UnsafePath(f"{path} is owned by another user (uid {st.st_uid})")
        if st.st_mode & 0o022:
            raise UnsafePath(
                f"{path} has mode {stat.S_IMODE(st.st_mode):o}: group or others may write it "
                "(chmod 600)"
            )
        return f.read()


def open_append(path: Path) -> int:
    """A descriptor appending to ``path``, a log hapair keeps in its data dir (created 0600, an
    older wider one narrowed to 0600), opened without following a symlink: one planted there
    is refused (``UnsafePath``, naming the path), as is anything but a regular file of this
    user. The caller closes the descriptor.

    Raises:
        UnsafePath: See above.
        OSError: It cannot be opened.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise _symlink_refused(path, exc) from None
    st = os.fstat(fd)
    refusal = None
    if not stat.S_ISREG(st.st_mode):
        refusal = f"{path} is not a regular file"
    elif st.st_uid != os.geteuid():
        refusal = f"{path} is owned by another user (uid {st.st_uid})"
    if refusal is not None:
        os.close(fd)
        raise UnsafePath(refusal)
    try:
        os.set_blocking(fd, True)  # O_NONBLOCK was for the open only (a FIFO)
        os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_private_dir(path: Path) -> None:
    """Refuses (``UnsafePath``) a directory that is a symlink, not a directory, owned by another
    user, or writable by group or others; a missing one passes (it is created 0700)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{path} is a symbolic link: give the directory itself")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"{path} is not a directory")
    if st.st_uid != os.geteuid():
        raise UnsafePath(f"{path} is owned by another user (uid {st.st_uid})")
    if st.st_mode & 0o022:
        raise UnsafePath(
            f"{path} has mode {st.st_mode & 0o777:o}: group or others may write in it (chmod 700)"
        )
