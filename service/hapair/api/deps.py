"""The unit's parts the API is built from, and how handlers receive them.

Handlers declare what they use as typed parameters, e.g.
``parameters: NamedDependency[ParametersService]``; Litestar fills them from
``providers(deps)``, registered once on the app by ``create_app``. Hooks that run before a
handler (the token check, the place check) have no dependency injection in Litestar: they read
the same ``Deps`` through ``deps_of(connection)``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeAlias

from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from hapair.engine.control import HAControl

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection

    from hapair.api.authenticator import Authenticator
    from hapair.metrics import Metrics
    from hapair.services.backup import BackupService
    from hapair.services.events import Events
    from hapair.services.health import Readiness
    from hapair.services.parameters import ParametersService
    from hapair.services.tokens import TokensService
    from hapair.services.unit import UnitService
    from hapair.settings import Settings


# The engine as handlers take it. Litestar validates every injected value against its
# annotation on every request (msgspec.convert in the signature model); for a
# runtime_checkable Protocol that is an isinstance walking all ~50 of its members (about a
# third of the standby's CPU for the partner's heartbeat, issue 23). The value is one object
# for the unit's lifetime, so ``providers`` checks it once and requests skip it.
EngineDep: TypeAlias = NamedDependency[SkipValidation[HAControl]]


@dataclass(frozen=True, kw_only=True)
class Deps:
    """What ``bootstrap.build`` makes for one unit and ``create_app`` serves."""

    settings: Settings
    engine: HAControl
    metrics: Metrics
    auth: Authenticator
    parameters: ParametersService
    tokens: TokensService
    unit: UnitService
    readiness: Readiness
    events: Events | None = None  # the pair's event stream (SPEC 5a)
    backup: BackupService | None = None  # export and import (SPEC 4)


def providers(deps: Deps) -> dict[str, Provide]:
    """One provider per part, by its field name: the same object for every request (the
    engine checked here, once: see ``EngineDep``)."""
    if not isinstance(deps.engine, HAControl):
        raise TypeError(f"{deps.engine!r} is not an HAControl")

    def constant(value: Any) -> Provide:
        def provide() -> Any:
            return value

        return Provide(provide, use_cache=True, sync_to_thread=False)

    return {f.name: constant(getattr(deps, f.name)) for f in fields(deps)}


def deps_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Deps:
    """The parts of the app serving ``connection`` (for hooks, which get no injection)."""
    deps: Deps = connection.app.state.deps
    return deps
