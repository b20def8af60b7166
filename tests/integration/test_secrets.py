"""Secrets off the command line and out of hooks (SPEC section 6); the ``--no-auth`` rules are in
``test_no_auth.py``.

Each test performs the attack against real processes: reads ``/proc/PID/cmdline`` (what ``ps``
shows every user) of a unit and of ``hapair up``'s units, reads the environment a role hook
got, plants a symlink or another user's file in place of a secret file, and has a role hook
read its unit's ``/proc/PID/environ``.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from hapair.store.embedded import EmbeddedRedis, death_signal_preexec
from tests.integration.conftest import (
    DIRECT_HOST,
    PARTNER_HOST,
    SHARED_HOST,
    MakeUnit,
    run_serve,
)
from tests.ports import free_port
from tests.support import HapairFactory, NsHapairProcess, children_of, poll

PAIR_KEY = "secret-pair-key-" + "7" * 24
ADMIN = "secret-admin-token-" + "9" * 20


def _cmdline(pid: int) -> str:
    """A process's argv as one line; empty once it has exited (a short-lived child of a unit
    may end between the listing of descendants and this read)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in children_of(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def _ha_args(data_dir: Path) -> tuple[list[str], str, str]:
    direct = f"{DIRECT_HOST}:{free_port(DIRECT_HOST)}"
    shared = f"{SHARED_HOST}:{free_port(SHARED_HOST)}"
    args = [
        "--listen", direct, "--data-dir", str(data_dir), "--mode", "first",
        "--partner", f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}", "--shared", shared,
    ]  # fmt: skip
    return args, f"http://{direct}", f"http://{shared}"


def _secret_file(path: Path, value: str) -> str:
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


def test_short_pair_key_is_refused_at_start(tmp_path: Path) -> None:
    args, _, _ = _ha_args(tmp_path / "d")
    for extra, env in (
        (["--pair-key", "k1"], None),
        (["--pair-key-file", _secret_file(tmp_path / "short.key", "fifteen-chars-x")], None),
        ([], {"HAPAIR_PAIR_KEY": "0123456789abcde"}),
    ):
        out = run_serve([*args, *extra], env)
        assert out.returncode == 2, (extra, out.stderr)
        assert "at least 16" in out.stderr, out.stderr
        assert "hapair key generate" in out.stderr


def test_secret_flag_and_file_together_are_refused(tmp_path: Path) -> None:
    args, _, _ = _ha_args(tmp_path / "d")
    key_file = _secret_file(tmp_path / "pair.key", PAIR_KEY)
    out = run_serve([*args, "--pair-key", PAIR_KEY, "--pair-key-file", key_file])
    assert out.returncode == 2
    assert "not both" in out.stderr
    out = run_serve([*args, "--pair-key-file", str(tmp_path / "missing.key")])
    assert out.returncode == 2
    assert "cannot read" in out.stderr


def test_unit_reads_secrets_from_files_and_argv_holds_none(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    args, direct, shared = _ha_args(tmp_path / "d")
    admin_file = _secret_file(tmp_path / "admin.token", ADMIN)
    key_file = _secret_file(tmp_path / "pair.key", PAIR_KEY)
    # one through flags, one through the environment variable naming the file
    proc = hapair_factory(
        [*args, "--admin-token-file", admin_file], env={"HAPAIR_PAIR_KEY_FILE": key_file}
    )
    proc.wait_ready(direct, timeout=15)
    r = httpx.get(f"{direct}/api/v1/unit", headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == "first"  # HA mode: the pair key was read
    cmdline = _cmdline(proc.pid)
    assert "--admin-token-file" in cmdline
    assert ADMIN not in cmdline
    assert PAIR_KEY not in cmdline
    for pid in _descendants(proc.pid):  # the embedded redis-server
        assert PAIR_KEY not in _cmdline(pid)
        assert ADMIN not in _cmdline(pid)
    del shared


def test_role_hook_environment_holds_no_secret(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    args, direct, _ = _ha_args(tmp_path / "d")
    hook_out = tmp_path / "hook-env"
    # the worst case: both secrets in the unit's own environment
    env = {"HAPAIR_PAIR_KEY": PAIR_KEY, "HAPAIR_ADMIN_TOKEN": ADMIN}
    proc = hapair_factory([*args, "--on-role-change", f"env >> {hook_out}"], env=env)
    proc.wait_ready(direct, timeout=15)

    def hook_ran_as_active() -> str:
        text = hook_out.read_text() if hook_out.exists() else ""
        return text if "HAPAIR_ROLE=active" in text else ""

    text = poll(hook_ran_as_active, timeout=15, what="the hook to run for the active role")
    assert PAIR_KEY not in text
    assert ADMIN not in text
    assert "HAPAIR_PAIR_KEY" not in text
    assert "HAPAIR_ADMIN_TOKEN" not in text
    assert "HAPAIR_UNIT=first" in text
    r = httpx.get(f"{direct}/api/v1/unit", headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 200  # the unit itself still has them


def test_key_generate_prints_a_new_url_safe_key(tmp_path: Path) -> None:
    keys = set()
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-m", "hapair", "key", "generate"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        key = out.stdout.strip()
        assert len(key) >= 32
        assert all(c.isalnum() or c in "-_" for c in key), key
        keys.add(key)
    assert len(keys) == 2
    target = tmp_path / "pair.key"
    subprocess.run(
        [sys.executable, "-m", "hapair", "key", "generate", "--out", str(target)],
        capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert len(target.read_text().strip()) >= 32


def _up(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """``hapair up`` on ``data_dir`` (a free port on the pair's hosts, no HAPAIR_* variable)."""
    return subprocess.run(
        [sys.executable, "-m", "hapair", "up", "--port", str(_port_free_on_pair_hosts()),
         "--data-dir", str(data_dir)],
        check=False, capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("HAPAIR_")},
    )  # fmt: skip


def _port_free_on_pair_hosts() -> int:
    """A port free on 127.0.0.10, .11 and .12 at once (hapair up uses the same on all three)."""

    def free_everywhere() -> int | None:
        port = free_port(SHARED_HOST)
        for host in ("127.0.0.11", "127.0.0.12"):
            with socket.socket() as sock:
                try:
                    sock.bind((host, port))
                except OSError:
                    return None
        return port

    return poll(free_everywhere, timeout=5, interval=0, what="a port free on the pair's hosts")


def _planted(directory: Path, *, owner: int | None = None) -> dict[str, bytes]:
    """A pair key and an admin token another user planted (``owner``: its uid), 0600."""
    planted = {
        "pair.key": b"planted-pair-key-0123456789\n",
        "admin.token": b"planted-token-0123456\n",
    }
    for name, data in planted.items():
        (directory / name).write_bytes(data)
        (directory / name).chmod(0o600)
        if owner is not None:
            os.chown(directory / name, owner, owner)
    return planted


def _up_refuses(data_dir: Path, reason: str) -> None:
    """``hapair up`` on ``data_dir`` exits 2 at once naming the path and ``reason``, and starts
    nothing, writes nothing."""
    before = {p.name: (p.lstat().st_mode, p.read_bytes() if p.is_file() else None)
              for p in data_dir.iterdir()}  # fmt: skip
    done = _up(data_dir)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert reason in done.stderr and str(data_dir) in done.stderr, done.stderr
    after = {p.name: (p.lstat().st_mode, p.read_bytes() if p.is_file() else None)
             for p in data_dir.iterdir()}  # fmt: skip
    assert after == before


NOBODY = 65534


def test_hapair_up_refuses_a_planted_key_token_or_data_dir(tmp_path: Path) -> None:
    """Another user's data dir, a dir others may write in, a key file of another user or a
    symlink in place of the key: each refused at start, nothing trusted, nothing changed."""
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    _planted(theirs, owner=NOBODY)
    os.chown(theirs, NOBODY, NOBODY)
    _up_refuses(theirs, "owned by another user")

    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    _planted(open_dir)
    _up_refuses(open_dir, "group or others may write")

    key_of_another = tmp_path / "key-of-another"
    key_of_another.mkdir(mode=0o700)
    _planted(key_of_another, owner=NOBODY)
    _up_refuses(key_of_another, "owned by another user")

    linked = tmp_path / "linked"
    linked.mkdir(mode=0o700)
    (tmp_path / "elsewhere.key").write_bytes(b"a-key-kept-somewhere-else-0123\n")
    (linked / "pair.key").symlink_to(tmp_path / "elsewhere.key")
    _up_refuses(linked, "pair.key")


def test_hapair_up_keeps_secrets_out_of_argv_and_writes_them_0600(tmp_path: Path) -> None:
    port = _port_free_on_pair_hosts()
    data_dir = tmp_path / "up"
    data_dir.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    (data_dir / "up.json").symlink_to(victim)  # planted: up.json must not be written through it
    old_umask = os.umask(0o022)
    log = (tmp_path / "up.log").open("wb")
    try:
        up = subprocess.Popen(
            [sys.executable, "-m", "hapair", "up", "--port", str(port),
             "--data-dir", str(data_dir), "--heartbeat-interval", "0.5"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("HAPAIR_")},
            preexec_fn=death_signal_preexec(signal.SIGTERM),  # noqa: PLW1509
        )  # fmt: skip
    finally:
        os.umask(old_umask)
        log.close()
    try:

        def both_ready() -> bool:
            return all(
                httpx.get(f"http://{h}:{port}/readyz", timeout=1).status_code == 200
                for h in ("127.0.0.11", "127.0.0.12")
            )

        try:
            poll(both_ready, timeout=40, interval=0.2, what="hapair up's units")
        except AssertionError:
            raise AssertionError((tmp_path / "up.log").read_text(errors="replace")) from None
        pair_key = (data_dir / "pair.key").read_text().strip()
        token = (data_dir / "admin.token").read_text().strip()
        assert len(pair_key) >= 32
        for name in ("pair.key", "admin.token"):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert victim.read_text() == "untouched\n"
        assert not (data_dir / "up.json").is_symlink()
        assert stat.S_IMODE((data_dir / "up.json").stat().st_mode) == 0o600
        pids = [up.pid, *_descendants(up.pid)]
        units = [p for p in pids if "-m hapair serve" in _cmdline(p)]
        assert len(units) == 2, [_cmdline(p) for p in pids]
        for pid in pids:
            cmdline = _cmdline(pid)
            assert pair_key not in cmdline, cmdline
            assert token not in cmdline, cmdline
        for pid in units:
            assert "--pair-key-file" in _cmdline(pid)
            environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
            assert pair_key not in environ
            assert token not in environ
        r = httpx.get(
            f"http://{SHARED_HOST}:{port}/api/v1/unit",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert r.status_code == 200
        for name in ("first", "second"):  # each unit's log: fed by hapair up, 0600, rotated
            unit_log = data_dir / name / "hapair.log"
            assert stat.S_IMODE(unit_log.stat().st_mode) == 0o600, unit_log
            poll(lambda f=unit_log: b'"event":"start"' in f.read_bytes(), timeout=10)
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=20)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()


def test_data_dir_is_0700_with_an_external_redis(
    make_unit: MakeUnit, redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    """With ``--redis`` no embedded Redis locks the data dir down: hapair does (issue 16 point
    7), an existing 0755 one included."""
    (tmp_path / "d").mkdir(mode=0o755)
    (tmp_path / "d").chmod(0o755)
    unit = make_unit(redis_url=redis_server.url)
    assert stat.S_IMODE(unit.data_dir.stat().st_mode) == 0o700


def test_serve_refuses_a_data_dir_of_another_user_or_open_to_others(tmp_path: Path) -> None:
    """SPEC 6 "Files": refused at start with the path and the reason; nothing written there."""
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, NOBODY, NOBODY)
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    for data_dir, reason in ((theirs, "owned by another user"), (open_dir, "others may write")):
        done = subprocess.run(
            [sys.executable, "-m", "hapair", "serve", "--data-dir", str(data_dir),
             "--listen", f"{DIRECT_HOST}:{free_port(DIRECT_HOST)}"],
            check=False, capture_output=True, text=True, timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("HAPAIR_")},
        )  # fmt: skip
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert reason in done.stderr and str(data_dir) in done.stderr, done.stderr
        assert list(data_dir.iterdir()) == []
        st = data_dir.stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (
            (NOBODY, 0o700) if data_dir == theirs else (0, 0o777)
        )


def _unsafe_secret_files(tmp_path: Path) -> list[tuple[str, Path, str]]:
    """(what was done, the file, the reason serve must give): each a key file a unit must not
    trust, with a valid key in it."""
    real = Path(_secret_file(tmp_path / "real.key", PAIR_KEY))
    linked = tmp_path / "linked.key"
    linked.symlink_to(real)  # planted in place of the key file: never followed
    group_writable = Path(_secret_file(tmp_path / "group-writable.key", PAIR_KEY))
    group_writable.chmod(0o620)
    others_writable = Path(_secret_file(tmp_path / "others-writable.key", PAIR_KEY))
    others_writable.chmod(0o602)
    theirs = Path(_secret_file(tmp_path / "theirs.key", PAIR_KEY))
    os.chown(theirs, NOBODY, NOBODY)
    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo, 0o600)  # would block a plain open() for ever
    return [
        ("a symlink", linked, "is a symbolic link"),
        ("group writable", group_writable, "mode 620: group or others may write it"),
        ("others writable", others_writable, "mode 602: group or others may write it"),
        ("another user's", theirs, f"owned by another user (uid {NOBODY})"),
        ("a FIFO", fifo, "is not a regular file"),
    ]


def test_serve_refuses_an_unsafe_secret_file_and_starts_nothing(tmp_path: Path) -> None:
    """SPEC 6 "Files": a secret file that is a symlink, another user's, or writable by group or
    others is refused at start by a real ``hapair serve``: exit 2, one line naming the path and
    the reason, never the key; the data dir is not even created. Through each way of giving a
    secret file: the flags, their ``HAPAIR_*_FILE`` variables, the next pair key."""
    data_dir = tmp_path / "d"
    args, _, _ = _ha_args(data_dir)
    good = _secret_file(tmp_path / "good.key", PAIR_KEY)
    for what, path, reason in _unsafe_secret_files(tmp_path):
        for extra, env in (
            (["--pair-key-file", str(path)], None),
            ([], {"HAPAIR_PAIR_KEY_FILE": str(path)}),
            (["--pair-key-file", good, "--admin-token-file", str(path)], None),
            (["--pair-key-file", good], {"HAPAIR_PAIR_KEY_NEXT_FILE": str(path)}),
        ):
            out = run_serve([*args, *extra], env)
            assert out.returncode == 2, (what, extra, env, out.stdout, out.stderr)
            assert str(path) in out.stderr and reason in out.stderr, (what, out.stderr)
            assert len(out.stderr.strip().splitlines()) == 1, out.stderr  # no traceback
            assert PAIR_KEY not in out.stderr + out.stdout
            assert not data_dir.exists(), what  # nothing started, nothing written
    # a 0644 file of this user is fine: not writable by anyone else (read, then the next check
    # refuses the start, so no unit needs to run for it; a bad flag value is refused before
    # any file is read, so the check after the secrets is a half-given pair of flags)
    readable = Path(_secret_file(tmp_path / "readable.key", PAIR_KEY))
    readable.chmod(0o644)
    out = run_serve([*args, "--pair-key-file", str(readable), "--tls-cert", str(readable)])
    assert out.returncode == 2
    assert "--tls-cert and --tls-key" in out.stderr, out.stderr


OUTSIDE = b"a file outside the data dir: never read, never written\n"


def _outside(tmp_path: Path) -> Path:
    """A file outside the data dir, 0640, with known content: what a planted symlink targets."""
    path = tmp_path / "outside"
    path.write_bytes(OUTSIDE)
    path.chmod(0o640)
    return path


def _serve_with_redis(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """``hapair serve`` of a lone unit with its embedded Redis (no pair key: its password is
    random and kept in the data dir), run to its end."""
    return run_serve(
        ["--listen", f"{DIRECT_HOST}:{free_port(DIRECT_HOST)}", "--data-dir", str(data_dir)]
    )


def test_serve_refuses_a_symlink_in_the_embedded_redis_files(tmp_path: Path) -> None:
    """SPEC 6 "Files": a symlink planted in the data dir in place of the embedded Redis's stored
    password (read at start: the old code took the password from the link's target), or of its
    log (redis-server appends to it, and the files were chmod-ed through links), is refused by
    a real ``hapair serve``: one line naming the path, no redis-server started, the target's
    content and mode unchanged."""
    outside = _outside(tmp_path)
    for name in ("password", "redis.log", "appendonlydir"):
        data_dir = tmp_path / name
        (data_dir / "redis").mkdir(mode=0o700, parents=True)
        data_dir.chmod(0o700)
        link = data_dir / "redis" / name
        link.symlink_to(outside)
        out = _serve_with_redis(data_dir)
        assert out.returncode == 1, (name, out.stdout, out.stderr)
        assert f"{link} is a symbolic link" in out.stderr, (name, out.stderr)
        assert "Traceback" not in out.stderr, out.stderr
        assert OUTSIDE.decode().strip() not in out.stderr + out.stdout
        assert outside.read_bytes() == OUTSIDE, name
        assert stat.S_IMODE(outside.stat().st_mode) == 0o640, name
        assert link.is_symlink()
        assert not (data_dir / "redis" / "redis.conf").exists(), name  # nothing started
    # the control: the same start without the link serves (and keeps its password 0600)
    data_dir = tmp_path / "control"
    direct = f"{DIRECT_HOST}:{free_port(DIRECT_HOST)}"
    unit = subprocess.Popen(
        [sys.executable, "-m", "hapair", "serve", "--listen", direct, "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("HAPAIR_")},
        preexec_fn=death_signal_preexec(signal.SIGTERM),  # noqa: PLW1509
    )
    try:
        poll(
            lambda: httpx.get(f"http://{direct}/readyz", timeout=1).status_code == 200,
            timeout=30,
            what="the control unit",
        )
        password = data_dir / "redis" / "password"
        assert stat.S_IMODE(password.lstat().st_mode) == 0o600
    finally:
        unit.send_signal(signal.SIGTERM)
        try:
            unit.wait(timeout=20)
        except subprocess.TimeoutExpired:
            unit.kill()
            unit.wait()


def test_hapair_up_refuses_a_symlink_in_place_of_a_units_log(tmp_path: Path) -> None:
    """``hapair up`` appends each unit's output to ``NAME/hapair.log``: a symlink planted there
    is refused (exit 2, its path), nothing appended through it, no unit started."""
    outside = _outside(tmp_path)
    data_dir = tmp_path / "up"
    (data_dir / "first").mkdir(mode=0o700, parents=True)
    data_dir.chmod(0o700)
    link = data_dir / "first" / "hapair.log"
    link.symlink_to(outside)
    done = _up(data_dir)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"hapair up: {link} is a symbolic link" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert outside.read_bytes() == OUTSIDE
    assert stat.S_IMODE(outside.stat().st_mode) == 0o640
    assert sorted(p.name for p in (data_dir / "first").iterdir()) == ["hapair.log"]  # no Redis
    assert not (data_dir / "second").exists()


# the unit and the hook run as root without the capabilities that read any process's memory
# (CAP_SYS_PTRACE; CAP_SYS_ADMIN and CAP_PERFMON pass the same check on this kernel), as a
# deployed unit does (deploy/hapair.service: CAP_NET_ADMIN CAP_NET_RAW only)
_NO_PTRACE = "-sys_ptrace,-sys_admin,-perfmon"
_WITHOUT_PTRACE = ["setpriv", f"--inh-caps={_NO_PTRACE}", f"--bounding-set={_NO_PTRACE}"]
_CAP_SYS_PTRACE = 19

# the attack: read PID's /proc/PID/environ; what was read (or the error) beside OUT, then
# "PID read" or "PID refused" into OUT (renamed in: whoever polls OUT sees all of it)
_READ_ENVIRON = """\
target=$1 out=$2
grep '^CapEff:' /proc/self/status > "$out.caps"
if cat "/proc/$target/environ" > "$out.environ" 2> "$out.error"; then r=read; else r=refused; fi
echo "$target $r" > "$out.tmp" && mv "$out.tmp" "$out"
"""


def _attack_result(out: Path) -> tuple[str, str, bytes, str, int]:
    """(pid, "read" or "refused", the environ read, the error, the reader's CapEff)."""
    target, result = out.read_text().split()
    cap_eff = int(Path(f"{out}.caps").read_text().split()[1], 16)
    environ = Path(f"{out}.environ").read_bytes()
    return target, result, environ, Path(f"{out}.error").read_text(), cap_eff


def test_role_hook_cannot_read_the_units_proc_environ(tmp_path: Path) -> None:
    """SPEC 6 "Files": after reading its secrets the unit is not dumpable, so its
    ``/proc/PID/environ`` (which keeps the ``HAPAIR_*`` variables it was started with) is
    root's only. A role hook reads its parent's: permission denied, no key. The control: the
    same reader, with the same capabilities, reads the same key in the environ of a dumpable
    process of the same user."""
    script = tmp_path / "read-environ.sh"
    script.write_text(_READ_ENVIRON)
    args, direct, _ = _ha_args(tmp_path / "d")
    hook_out = tmp_path / "hook"
    unit = NsHapairProcess(
        _WITHOUT_PTRACE,
        [*args, "--on-role-change", f"sh {script} $PPID {hook_out}"],  # $PPID: the unit
        log_path=tmp_path / "unit.log",
        env={"HAPAIR_PAIR_KEY": PAIR_KEY, "HAPAIR_ADMIN_TOKEN": ADMIN},
    )
    control_out = tmp_path / "control"
    control: subprocess.Popen[bytes] | None = None
    try:
        unit.start()
        unit.wait_ready(direct, timeout=20)
        poll(hook_out.exists, timeout=15, what="the role hook to run")
        target, result, environ, error, cap_eff = _attack_result(hook_out)
        assert target == str(unit.pid)  # the hook's parent is the unit itself
        assert not cap_eff & (1 << _CAP_SYS_PTRACE), hex(cap_eff)
        assert result == "refused", (environ, error)
        assert "Permission denied" in error, error
        assert PAIR_KEY.encode() not in environ and ADMIN.encode() not in environ
        # the keys are there (this test runs with CAP_SYS_PTRACE): only the mode protects them
        there = Path(f"/proc/{unit.pid}/environ").read_bytes()
        assert PAIR_KEY.encode() in there, "the attack has nothing to find: the test proves nothing"
        r = httpx.get(f"{direct}/api/v1/unit", headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code == 200  # the unit itself still has them

        # control: a dumpable process of the same user, the same capabilities, the same key
        control = subprocess.Popen(
            [*_WITHOUT_PTRACE, "sleep", "600"],
            env={"PATH": os.environ["PATH"], "HAPAIR_PAIR_KEY": PAIR_KEY},
            preexec_fn=death_signal_preexec(signal.SIGKILL),  # noqa: PLW1509
        )
        subprocess.run(
            [*_WITHOUT_PTRACE, "sh", str(script), str(control.pid), str(control_out)],
            check=True, timeout=30,
        )  # fmt: skip
        target, result, environ, error, cap_eff = _attack_result(control_out)
        assert target == str(control.pid)
        assert not cap_eff & (1 << _CAP_SYS_PTRACE), hex(cap_eff)
        assert result == "read", error
        assert PAIR_KEY.encode() in environ
    finally:
        if control is not None:
            control.kill()
            control.wait()
        unit.terminate()
