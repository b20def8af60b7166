"""The simulation runs the production shell: a fault put into ``engine/node.py`` must make it
fail. Each mutation is patched into ``Node`` and a scripted scenario run on the simulated pair;
without the mutation it passes.

(A random search finds neither in a few hundred examples: each needs a quiet stretch in which
the invariant that catches it applies, e.g. the active killed with a fit standby and no other
fault until the standby's deadline; the scenario makes one.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hapair.engine.core import machine as m
from hapair.engine.node import Node
from tests.sim.test_pair_sim import PairUnderFaults

_carry_out = Node._carry_out


async def drop_replies(self: Node, action: m.Action) -> None:
    """The shell never answers a request (takeover, demote, hand-over...)."""
    if not isinstance(action, m.Reply):
        await _carry_out(self, action)


def no_deadline_timer(self: Node) -> None:
    """The machine's deadline is never armed: a standby decides at its ticks only."""


# name: (the attribute of Node replaced, the mutant, what the simulation says then)
MUTATIONS: dict[str, tuple[str, Callable[..., Any], str]] = {
    "drop-replies": ("_carry_out", drop_replies, "not handed over"),
    "no-deadline-timer": ("_arm_deadline", no_deadline_timer, "first not active"),
}


def scenario(pair: PairUnderFaults) -> None:
    """The active's service fails: the fit standby has the role within interval x fall + 2
    heartbeats (its demote request answered); the service back, the new active is killed: the
    other takes over at its deadline (``expect``, checked by ``check_timed``)."""
    pair.advance(6)
    assert pair.w.shared_holder == "first"
    pair.service("first", False)
    pair.advance(8)
    assert pair.w.shared_holder == "second", "not handed over within fall checks + 2 heartbeats"
    pair.service("first", True)
    pair.advance(21)  # t=19.5: first's hold is over; second's heartbeat to first has just come
    pair.kill("second")
    assert pair.expect_failover is not None
    pair.advance(16)
    assert pair.expect_failover is None and pair.w.shared_holder == "first"


@pytest.fixture
def pair() -> Iterator[PairUnderFaults]:
    made = PairUnderFaults()
    made.boot(
        ha_timeout=6.0, initial_wait=0.0, preferred="none", together=False,
        loss=0.0, delay=0.0, seed=0, failback_delay=0.0,
    )  # fmt: skip
    yield made
    made.teardown()


def test_the_scenario_passes_on_the_shell_as_it_is(pair: PairUnderFaults) -> None:
    scenario(pair)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_mutation_of_the_shell_fails_the_scripted_scenario(
    name: str, pair: PairUnderFaults, monkeypatch: pytest.MonkeyPatch
) -> None:
    attribute, mutant, says = MUTATIONS[name]
    monkeypatch.setattr(Node, attribute, mutant)
    with pytest.raises(AssertionError, match=says):
        scenario(pair)
