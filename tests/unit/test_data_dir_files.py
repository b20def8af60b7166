"""SPEC 6 "Files": the files hapair keeps in its data dir are opened without following a
symlink. Each test plants one, pointing at a file outside the data dir with known content,
and shows that nothing is read from it or written through it (its content and mode are
unchanged) and that the refusal names the path. The same refusals by real processes (``hapair
serve``'s embedded Redis, ``hapair up``'s unit logs) are in
``tests/integration/test_secrets.py``; ``up.json`` in ``test_up_json.py``.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from hapair.cli.units import RotatingLog
from hapair.files import UnsafePath, open_append, read_owned
from hapair.secretfiles import SecretError
from hapair.store.redis_config import PASSWORD_FILE, prepare_files, stored_password
from tests.support import OUTSIDE, untouched


def _data_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "d"
    (data_dir / "redis").mkdir(mode=0o700, parents=True)
    data_dir.chmod(0o700)
    return data_dir


def test_read_owned_refuses_a_symlink_and_reads_the_file_itself(
    tmp_path: Path, outside: Path
) -> None:
    link = tmp_path / "link"
    link.symlink_to(outside)
    with pytest.raises(
        UnsafePath, match=f"^{re.escape(str(link))} is a symbolic link: hapair does not follow"
    ):
        read_owned(link)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nothing")
    with pytest.raises(UnsafePath, match="is a symbolic link"):
        read_owned(dangling)  # not "missing": a symlink is there
    with pytest.raises(FileNotFoundError):
        read_owned(tmp_path / "missing")
    assert read_owned(outside) == OUTSIDE  # a 0640 file of this user is read
    outside.chmod(0o660)
    with pytest.raises(UnsafePath, match="mode 660: group or others may write"):
        read_owned(outside)


def test_open_append_refuses_a_symlink_and_writes_nothing_through_it(
    tmp_path: Path, outside: Path
) -> None:
    link = tmp_path / "hapair.log"
    link.symlink_to(outside)
    with pytest.raises(UnsafePath, match=f"^{re.escape(str(link))} is a symbolic link"):
        open_append(link)
    untouched(outside)  # not appended to, not chmod-ed to 0600
    fifo = tmp_path / "fifo.log"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(OSError, match=re.escape(str(fifo))):  # no reader: ENXIO at once, no hang
        open_append(fifo)
    plain = tmp_path / "plain.log"
    plain.write_bytes(b"older\n")
    plain.chmod(0o644)
    fd = open_append(plain)
    try:
        os.write(fd, b"newer\n")
        assert os.get_blocking(fd)
    finally:
        os.close(fd)
    assert plain.read_bytes() == b"older\nnewer\n"
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600  # an older 0644 log narrowed


def test_hapair_up_unit_log_is_never_written_through_a_symlink(
    tmp_path: Path, outside: Path
) -> None:
    """``hapair up``'s log of a unit (``cli/units.py``): appended to, never through a link."""
    link = tmp_path / "hapair.log"
    link.symlink_to(outside)
    with pytest.raises(UnsafePath, match=f"^{re.escape(str(link))} is a symbolic link"):
        RotatingLog(link)
    untouched(outside)
    log = RotatingLog(tmp_path / "real.log", max_bytes=8, backups=1)
    log.write(b"12345\n")
    (tmp_path / "real.log.1").symlink_to(outside)  # planted where the rotation renames to
    log.write(b"67890\n")  # rotates: the rename replaces the link, nothing written through it
    log.close()
    untouched(outside)
    assert (tmp_path / "real.log.1").read_bytes() == b"12345\n"
    assert not (tmp_path / "real.log.1").is_symlink()


def test_stored_redis_password_is_never_read_through_a_symlink(
    tmp_path: Path, outside: Path
) -> None:
    data_dir = _data_dir(tmp_path)
    link = data_dir / "redis" / PASSWORD_FILE
    link.symlink_to(outside)
    with pytest.raises(SecretError, match=f"{re.escape(str(link))} is a symbolic link") as refused:
        stored_password(data_dir)
    assert OUTSIDE.decode().strip() not in str(refused.value)
    untouched(outside)
    link.unlink()
    assert stored_password(data_dir) is None
    link.write_text("")
    assert stored_password(data_dir) is None  # left empty: a new one is chosen
    link.write_text("kept-password\n")
    link.chmod(0o644)  # an older hapair's: not writable by others, read (then rewritten 0600)
    assert stored_password(data_dir) == "kept-password"


@pytest.mark.parametrize("name", ["redis.log", "redis.stderr", "dump.rdb"])
def test_redis_dir_with_a_symlink_is_refused_before_anything_is_written(
    tmp_path: Path, outside: Path, name: str
) -> None:
    """redis-server opens its log, dump and AOF files itself (following links), and the
    narrowing to 0600 would chmod a link's target: a symlink there is refused, named."""
    data_dir = _data_dir(tmp_path)
    link = data_dir / "redis" / name
    link.symlink_to(outside)
    with pytest.raises(UnsafePath, match=f"^{re.escape(str(link))} is a symbolic link"):
        prepare_files(data_dir, data_dir / "redis", "a-password")
    untouched(outside)
    assert not (data_dir / "redis" / PASSWORD_FILE).exists()


def test_redis_dir_itself_a_symlink_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    data_dir.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    (data_dir / "redis").symlink_to(elsewhere)
    with pytest.raises(UnsafePath, match="redis is a symbolic link"):
        prepare_files(data_dir, data_dir / "redis", "a-password")
    assert list(elsewhere.iterdir()) == []
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755
