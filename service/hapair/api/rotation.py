"""``POST /api/v1/ha/actions/rotate-pair-key``: switch both units to the next pair key."""

from __future__ import annotations

import msgspec
from litestar import Controller, post

from hapair.api.deps import EngineDep
from hapair.api.problems import responses
from hapair.engine.pairlink.rotation import rotate_pair


class RotateResult(msgspec.Struct, kw_only=True):
    """The id of the pair key both units now sign with."""

    key_id: str


class RotationController(Controller):
    """Pair-key rotation (SPEC 6 "Rotation without downtime")."""

    path = "/ha"
    tags = ["ha"]  # noqa: RUF012

    @post(
        "/actions/rotate-pair-key",
        operation_id="rotate_pair_key",
        opt={"serve": "pair-write"},
        summary="Switch both units to the next pair key",
        description=(
            "On the active, with the same `--pair-key-next-file` loaded on both units (SIGHUP): "
            "the partner switches to the next key, then this unit; both still accept the old "
            "key for 10 s, then refuse it. 409 `pair-key-mismatch` when the units' next keys "
            "differ or one has none (nothing switched); 503 when the partner cannot be asked."
        ),
        responses=responses(401, 403, 409, 503),
        status_code=200,
    )
    async def rotate_pair_key(self, engine: EngineDep) -> RotateResult:
        # where it may be served (the active's shared address) was checked before: opt serve
        return RotateResult(
            key_id=await rotate_pair(engine.settings.pair_keys, engine.partner_link)
        )
