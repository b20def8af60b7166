"""The files hapair writes and the directories it trusts (SPEC 6 "Files"), in one place.

- :func:`write_atomic`: write-and-rename. The new file is created beside the target with
  ``O_CREAT | O_EXCL`` (never through a symlink, never an existing file) in its final mode from
  the first byte: 0600 for anything of a unit's (secrets, settings, Redis configuration), 0644
  only where another user's program must read it (HAProxy's peers file); fsynced, then renamed
  over the target, so a reader never sees half a file and a symlink planted at the target is
  replaced, not followed.
- :func:`check_private_dir`: a directory that holds secrets must be a directory (not a
  symlink), owned by this user and not writable by group or others; refused otherwise, with
  the path and the reason.
"""

from __future__ import annotations

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
