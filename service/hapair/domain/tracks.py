"""Tracks: the health of the service behind the shared address (SPEC section 5, "Tracks").

``--track NAME:KIND:TARGET[,interval=S][,timeout=S][,fall=N][,rise=N]`` is parsed here, and
the fall/rise hysteresis that turns check results into a track's state is a pure function
here too. Running the checks (processes, sockets, files) is the engine's shell
(``engine/tracks.py``); deciding what a failed track means for the role is the engine's pure
core (``engine/core/roles.py``).
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, replace
from typing import Literal

import msgspec

TrackKind = Literal["exec", "http", "tcp", "interface", "process", "ping"]
KINDS: tuple[str, ...] = TrackKind.__args__  # type: ignore[attr-defined]
NAME_PATTERN = r"[A-Za-z0-9_.-]{1,32}"
DEFAULT_INTERVAL = 2.0
DEFAULT_FALL = 3
DEFAULT_RISE = 2
_OPTIONS = ("interval", "timeout", "fall", "rise")


class TrackError(ValueError):
    """A ``--track`` value that cannot be used; the message is one line for a person."""


@dataclass(frozen=True, kw_only=True)
class TrackSpec:
    """One track as configured."""

    name: str
    kind: str
    target: str
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_INTERVAL
    fall: int = DEFAULT_FALL
    rise: int = DEFAULT_RISE


def parse_track(text: str) -> TrackSpec:
    """Parses one ``--track`` value.

    ``NAME:KIND:TARGET[,interval=S][,timeout=S][,fall=N][,rise=N]``; the target runs to the
    first ``,name=`` option, so an ``exec`` command or an IPv6 ``tcp`` target may hold colons
    (and an ``exec`` command commas not followed by an option name).

    Raises:
        TrackError: The value is malformed; the message names the track and what is wrong.
    """
    name, sep, rest = text.partition(":")
    if not sep:
        raise TrackError(f"--track {text!r}: expected NAME:KIND:TARGET[,interval=S,...]")
    if not re.fullmatch(NAME_PATTERN, name):
        raise TrackError(f"--track {text!r}: a name is 1 to 32 of A-Z a-z 0-9 _ . -")
    kind, sep, rest = rest.partition(":")
    if not sep:
        raise TrackError(f"--track {name}: expected NAME:KIND:TARGET")
    if kind not in KINDS:
        raise TrackError(f"--track {name}: kind {kind!r} is not one of {', '.join(KINDS)}")
    target, options = _split_options(rest)
    if not target:
        raise TrackError(f"--track {name}: the target is empty")
    values = _options(name, options)
    interval = values.get("interval", DEFAULT_INTERVAL)
    spec = TrackSpec(
        name=name,
        kind=kind,
        target=target,
        interval=interval,
        timeout=values.get("timeout", interval),
        fall=int(values.get("fall", DEFAULT_FALL)),
        rise=int(values.get("rise", DEFAULT_RISE)),
    )
    _check_target(spec)
    return spec


def parse_tracks(texts: list[str] | tuple[str, ...]) -> tuple[TrackSpec, ...]:
    """Parses every ``--track``; names must be unique.

    Raises:
        TrackError: One is malformed, or two share a name.
    """
    specs = tuple(parse_track(t) for t in texts)
    seen: set[str] = set()
    for s in specs:
        if s.name in seen:
            raise TrackError(f"--track {s.name}: two tracks have this name")
        seen.add(s.name)
    return specs


def _split_options(rest: str) -> tuple[str, list[str]]:
    """The target and the ``name=value`` options after it."""
    match = re.search(",(?:" + "|".join(_OPTIONS) + ")=", rest)
    if match is None:
        return rest, []
    return rest[: match.start()], rest[match.start() + 1 :].split(",")


def _options(name: str, options: list[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for option in options:
        key, sep, raw = option.partition("=")
        if not sep or key not in _OPTIONS:
            raise TrackError(
                f"--track {name}: unknown option {option!r} (interval, timeout, fall, rise)"
            )
        if key in values:
            raise TrackError(f"--track {name}: {key} is given twice")
        if key in ("fall", "rise"):
            if not raw.isdigit() or not 1 <= int(raw) <= 100:
                raise TrackError(f"--track {name}: {key} must be an integer from 1 to 100")
            values[key] = int(raw)
        else:
            try:
                number = float(raw)
            except ValueError:
                number = -1.0
            if not 0.05 <= number <= 3600:
                raise TrackError(f"--track {name}: {key} must be seconds from 0.05 to 3600")
            values[key] = number
    return values


def _check_target(spec: TrackSpec) -> None:
    name, target = spec.name, spec.target
    if spec.kind == "exec":
        try:
            argv = shlex.split(target)
        except ValueError as exc:
            raise TrackError(f"--track {name}: the command does not split: {exc}") from None
        if not argv:
            raise TrackError(f"--track {name}: the command is empty")
    elif spec.kind == "http":
        if not re.match(r"https?://[^/\s]+", target):
            raise TrackError(f"--track {name}: an http target is an http:// or https:// URL")
    elif spec.kind == "tcp":
        host, sep, port = target.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise TrackError(f"--track {name}: a tcp target is HOST:PORT or [IPV6]:PORT")
    elif spec.kind == "interface":
        if not re.fullmatch(r"(?!\.\.?$)[A-Za-z0-9_.-]{1,15}", target):
            raise TrackError(f"--track {name}: {target!r} is not an interface name")
    elif spec.kind == "process":
        if "/" in target or len(target) > 15:
            raise TrackError(
                f"--track {name}: a process target is a process name (its comm, at most 15 "
                "characters, no '/')"
            )
    elif spec.kind == "ping":
        try:
            ipaddress.ip_address(target)
        except ValueError:
            raise TrackError(f"--track {name}: a ping target is an IPv4 or IPv6 address") from None


# ---- the hysteresis ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TrackHealth:
    """A track's state from its checks: ``ok`` None until the first result."""

    ok: bool | None = None
    run: int = 0  # results in a row that disagree with ``ok``
    detail: str = ""


def observe(spec: TrackSpec, health: TrackHealth, good: bool, detail: str) -> TrackHealth:
    """The state after one check: the first result sets it (a unit does not wait ``fall``
    checks to know its service is down at boot); then ``fall`` failures in a row fail it and
    ``rise`` successes in a row recover it."""
    if health.ok is None:
        return TrackHealth(ok=good, run=0, detail=detail)
    if good == health.ok:
        return replace(health, run=0, detail=detail)
    run = health.run + 1
    if run >= (spec.rise if good else spec.fall):
        return TrackHealth(ok=good, run=0, detail=detail)
    return replace(health, run=run, detail=detail)


# ---- what the API shows --------------------------------------------------------------------


class TrackView(msgspec.Struct, kw_only=True):
    """One track of this unit (``GET /unit``): ``ok`` null until its first check."""

    name: str
    kind: str
    target: str
    ok: bool | None
    since: str | None
    detail: str


class TrackSummary(msgspec.Struct, kw_only=True):
    """One track of a unit as ``GET /ha/status`` shows it (the partner's from its heartbeat)."""

    name: str
    ok: bool | None = None
    detail: str = ""
