"""deploy/hapair.service run as systemd runs it, without systemd (issue 20 point 7).

PID 1 here is not systemd, so the test builds the unit's sandbox itself from the unit file and
runs its ``ExecStart`` in it, inside a host's network namespace of a ``tests.netns.Lan``, with
the shipped ``deploy/hapair.env.example`` as its ``EnvironmentFile``:

- ``DynamicUser=yes``: an unprivileged uid (from systemd's dynamic range), owning the state
  directory (``StateDirectory=``, ``%S``) and the credentials (``LoadCredential=``, ``%d``);
- ``AmbientCapabilities=``, ``CapabilityBoundingSet=``, ``NoNewPrivileges=``: ``setpriv`` with
  exactly those capabilities;
- ``ProtectKernelTunables=yes``: ``/proc/sys`` read-only in a mount namespace, except the paths
  ``ReadWritePaths=`` names under it, bind-mounted read-write again (as systemd does).

The unit becomes active alone, takes the virtual IP, and ``use_virtual_mac`` is applied: the
macvlan exists and the parent's ``arp_ignore`` sysctl is written. Without the unit's
``ReadWritePaths=/proc/sys/net/ipv4/conf`` the sysctl write fails (read-only file system) and
the parameter is reported ``failed``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.netns import Lan, netns_available, netns_executor
from tests.support import HapairFactory, HapairProcess, poll

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(netns_available() is not None, reason=str(netns_available())),
]

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "deploy" / "hapair.service"
ENV_EXAMPLE = ROOT / "deploy" / "hapair.env.example"
DYNAMIC_UID = 61184 + secrets.randbelow(4000)  # systemd's DynamicUser range is 61184..65519
CAPABILITIES = "CAP_NET_ADMIN CAP_NET_RAW"


def service_settings() -> list[tuple[str, str]]:
    """The ``[Service]`` section of the unit file as (key, value) lines, in order."""
    out: list[tuple[str, str]] = []
    section = ""
    for raw in SERVICE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            out.append((key, value))
    return out


def first(settings: list[tuple[str, str]], key: str) -> str:
    return next(v for k, v in settings if k == key)


def _caps(value: str) -> str:
    """``CAP_NET_ADMIN CAP_NET_RAW`` as setpriv's ``-all,+net_admin,+net_raw``."""
    return ",".join(["-all", *(f"+{c.removeprefix('CAP_').lower()}" for c in value.split())])


def _reachable(prefix: Path, spare: Path) -> list[str]:
    """Mounts that let the dynamic user reach this Python at its own path: a directory above it
    that others cannot enter (``/root``, 0700) is covered by an empty tmpfs, the prefix bound
    back into it (by way of ``spare``). The unit's own files are not touched."""
    closed = next((d for d in reversed(prefix.parents) if not d.stat().st_mode & 0o001), None)
    if closed is None:
        return []
    return [
        f"mount --bind {prefix} {spare}",
        f"mount -t tmpfs -o mode=0755 hapair-test {closed}",
        f"mkdir -p {prefix}",
        f"mount --bind {spare} {prefix}",
    ]


class SandboxedUnit(HapairProcess):
    """``ExecStart`` in the unit's sandbox, in ``host``'s namespace; stopped by pid (the shell
    and ``setpriv`` exec, so the pid is hapair's)."""

    def __init__(self, lan: Lan, base: Path, settings: list[tuple[str, str]]) -> None:
        state, creds, python = base / "state", base / "credentials", base / "python"
        env: dict[str, str] = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(state)}
        for line in ENV_EXAMPLE.read_text().splitlines():  # EnvironmentFile=
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                env[key.strip()] = value.strip()
        for key, value in settings:
            if key == "Environment":
                name, _, text = value.partition("=")
                env[name] = text.replace("%d", str(creds)).replace("%S", str(state))
        # the tree under test, whatever is installed
        env["PYTHONPATH"] = f"{ROOT / 'service'}{os.pathsep}{ROOT / 'sdk'}"
        # the interpreter's own installation (a venv's python is a link into it: CI's venv of
        # a pyenv Python under /root, 0700), its site-packages reachable where they are
        mounts = _reachable(Path(sys.base_prefix), python)
        if first(settings, "ProtectKernelTunables") == "yes":
            mounts += ["mount --rbind /proc/sys /proc/sys", "mount -o remount,bind,ro /proc/sys"]
            for key, value in settings:
                for path in value.split() if key == "ReadWritePaths" else ():
                    if path.startswith("/proc/sys/"):
                        mounts += [f"mount --bind {path} {path}",
                                   f"mount -o remount,bind,rw {path}"]  # fmt: skip
        exec_start = first(settings, "ExecStart").split()
        assert exec_start[:2] == ["/opt/hapair/bin/hapair", "serve"], exec_start
        setpriv = [
            "setpriv", f"--reuid={DYNAMIC_UID}", f"--regid={DYNAMIC_UID}", "--clear-groups",
            f"--inh-caps={_caps(first(settings, 'AmbientCapabilities'))}",
            f"--ambient-caps={_caps(first(settings, 'AmbientCapabilities'))}",
            f"--bounding-set={_caps(first(settings, 'CapabilityBoundingSet'))}",
            *(["--no-new-privs"] if first(settings, "NoNewPrivileges") == "yes" else []),
            sys.executable, "-m", "hapair", *exec_start[1:],
        ]  # fmt: skip
        self.script = " && ".join([*mounts, "exec " + " ".join(setpriv)])
        self.prefix = [*lan.exec_prefix("first"), "unshare", "-m", "--propagation", "private"]
        super().__init__([], log_path=base / "unit.log", env=env, cwd=state)
        self.env = env  # nothing of the test's environment: the unit's only

    @property
    def command(self) -> list[str]:
        return [*self.prefix, "sh", "-c", self.script]


@pytest.fixture
def lan() -> Iterator[Lan]:
    with Lan() as net:
        yield net


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory the dynamic user can reach (pytest's tmp_path is under a 0700 directory):
    the state directory and the credentials, owned by it as systemd makes them."""
    path = Path(tempfile.mkdtemp(prefix="hapair-systemd-", dir="/tmp"))
    try:
        path.chmod(0o755)
        (path / "python").mkdir()
        state, creds = path / "state", path / "credentials"
        (state / "hapair").mkdir(parents=True, mode=0o700)
        creds.mkdir(mode=0o500)
        for name in ("pair-key", "admin-token"):
            (creds / name).write_text(secrets.token_urlsafe(32) + "\n")
            (creds / name).chmod(0o400)
        for p in (state, state / "hapair", creds, creds / "pair-key", creds / "admin-token"):
            os.chown(p, DYNAMIC_UID, DYNAMIC_UID)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_the_unit_runs_with_its_capabilities_and_applies_use_virtual_mac(
    lan: Lan, base: Path, hapair_factory: HapairFactory
) -> None:
    settings = service_settings()
    assert first(settings, "DynamicUser") == "yes"
    assert first(settings, "AmbientCapabilities") == CAPABILITIES
    unit = SandboxedUnit(lan, base, settings)
    hapair_factory.processes.append(unit)  # stopped by pid at teardown, its log printed
    unit.start()
    token = (base / "credentials" / "admin-token").read_text().strip()
    client = netns_executor(lan.ns("client"))
    headers = {"Authorization": f"Bearer {token}"}

    def get(url: str) -> httpx.Response:
        return client.submit(httpx.get, url, headers=headers, timeout=2).result()

    def active() -> bool:
        assert unit.returncode is None, f"the unit exited:\n{unit.log_tail()}"
        try:
            return get("http://192.0.2.10:8080/readyz?role=active").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        poll(active, timeout=90, interval=0.2, what="the unit active on the virtual IP")
        status = Path(f"/proc/{unit.pid}/status").read_text()
        assert f"Uid:\t{DYNAMIC_UID}\t" in status, status
        assert "CapEff:\t0000000000003000" in status, status  # NET_ADMIN and NET_RAW only
        written = client.submit(
            httpx.patch, "http://192.0.2.10:8080/api/v1/ha/parameters",
            json={"use_virtual_mac": True}, headers=headers, timeout=10,
        ).result()  # fmt: skip
        assert written.status_code == 200, written.text

        # the virtual MAC is taken with the address: at the next takeover, here a reboot
        rebooted = client.submit(
            httpx.post, "http://192.0.2.11:8080/api/v1/unit/reboot", headers=headers, timeout=10
        ).result()
        assert rebooted.status_code == 202, rebooted.text

        def on_the_macvlan() -> bool:
            held = [line for line in lan.addresses("first").splitlines() if "192.0.2.10/" in line]
            return bool(held) and "hapair-vmac" in held[0] and active()

        poll(on_the_macvlan, timeout=60, interval=0.2, what="the virtual IP on hapair-vmac")
        arp_ignore = lan.run("first", "cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore")
        assert arp_ignore.stdout.strip() == "1"
        assert "Read-only file system" not in unit.log_text()
    finally:
        client.shutdown(wait=True, cancel_futures=True)
