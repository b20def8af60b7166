"""Facts written once (issue 15 point 7): each place that needs one of them reads it from its
one home, so the copies cannot drift apart."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any

from hapair import app
from hapair.cli import up as cli_up
from hapair.domain import limits
from hapair.domain.unit import HA_UNITS, other_unit, partner_name, record_boot
from hapair.server import limits as listener_limits
from hapair.server.limits import Limits
from hapair.services.event_fanout import Fanout
from hapair.services.events import Events
from hapair.settings import DEFAULTS, Settings, add_serve_flags, lab_limits, shown_default
from hapair.store.events import EventStream


def _defaults(add: Callable[[argparse.ArgumentParser], None]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="hapair test")
    add(parser)
    return {a.dest: shown_default(a) for a in parser._actions}


def test_serve_flags_default_to_the_settings_fields() -> None:
    flags = _defaults(add_serve_flags)
    for field in (
        "listen",
        "max_connections",
        "max_connections_per_client",
        "heartbeat_interval",
        "log_level",
        "haproxy_peers_port",
    ):
        assert flags[field] == getattr(DEFAULTS, field), field
    assert flags["max_connections"] == limits.MAX_CONNECTIONS


def test_up_heartbeat_defaults_to_the_settings_field() -> None:
    sub = argparse.ArgumentParser(prog="hapair").add_subparsers()
    cli_up.add_parser(sub)
    up = sub.choices["up"]
    default = next(a for a in up._actions if a.dest == "heartbeat_interval")
    assert shown_default(default) == Settings().heartbeat_interval


def test_lab_limits_default_to_the_settings_fields() -> None:
    out = lab_limits({})
    for field, value in out.items():
        assert value == getattr(DEFAULTS, field), field


def test_listener_and_event_stream_defaults_are_the_settings_defaults() -> None:
    assert Limits().max_connections == DEFAULTS.max_connections
    assert Limits().max_per_client == DEFAULTS.max_connections_per_client
    events = inspect.signature(Events).parameters
    assert events["queue"].default == DEFAULTS.events_queue
    assert events["client_buffer"].default == DEFAULTS.events_client_buffer
    assert events["keepalive_s"].default == DEFAULTS.events_keepalive_s
    assert inspect.signature(Fanout).parameters["queue"].default == DEFAULTS.events_queue
    assert inspect.signature(EventStream).parameters["keep"].default == DEFAULTS.events_keep
    boot = inspect.signature(record_boot).parameters
    assert boot["window_s"].default == DEFAULTS.pacify_window_s
    assert boot["max_boots"].default == DEFAULTS.pacify_max_boots


def test_the_listener_and_the_app_refuse_the_same_methods() -> None:
    assert {m.encode() for m in app.METHODS} == listener_limits.METHODS
    detail = limits.METHODS_DETAIL.encode()
    allow = limits.METHODS_ALLOW.encode()
    assert detail in app._METHOD_REFUSED_BODY and detail in listener_limits._METHOD_REFUSED
    start: dict[str, Any] = dict(app._METHOD_REFUSED_START)
    assert (b"allow", allow) in start["headers"]
    assert b"Allow: " + allow in listener_limits._METHOD_REFUSED


def test_listener_tls_arguments() -> None:
    assert Settings().listener_ssl is None
    assert Settings(tls_cert="c.pem", tls_key="k.pem").listener_ssl == {
        "ssl_certfile": "c.pem",
        "ssl_keyfile": "k.pem",
    }


def test_the_partner_of_each_unit() -> None:
    first, second = HA_UNITS
    assert (other_unit(first), other_unit(second)) == (second, first)
    assert (partner_name(first), partner_name(second), partner_name("standalone")) == (
        second,
        first,
        None,
    )
