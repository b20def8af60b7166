"""``/api/v1/unit*``: this unit's settings, reboot and takeover."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import Parameter, SkipValidation

from hapair.api import wire
from hapair.api.deps import EngineDep
from hapair.api.problems import responses
from hapair.domain.status import PairStatus
from hapair.services.unit import UnitService


class UnitController(Controller):
    """The unit answering the request."""

    path = "/unit"
    tags = ["unit"]  # noqa: RUF012

    @get("", operation_id="get_unit", summary="This unit", responses=responses(401, 403))
    async def get_unit(self, unit: NamedDependency[UnitService]) -> wire.UnitView:
        return unit.view()

    @patch(
        "",
        operation_id="patch_unit",
        opt={"media": "merge-patch"},
        summary="Stage unit settings for the next reboot",
        description="Mode, partner and shared address are pending until `POST /unit/reboot`.",
        status_code=202,
        responses=responses(400, 401, 403, 413, 415, 422),
    )
    async def patch_unit(
        self, unit: NamedDependency[UnitService], data: SkipValidation[wire.UnitPatch]
    ) -> Response[wire.UnitView]:
        return Response(unit.stage(data), status_code=202)

    @post(
        "/reboot",
        operation_id="reboot_unit",
        summary="Restart the HA engine, applying pending settings",
        status_code=202,
        responses=responses(401, 403, 422),
    )
    async def reboot_unit(self, unit: NamedDependency[UnitService]) -> wire.Accepted:
        unit.reboot()
        return wire.Accepted(
            status="rebooting", detail="the HA engine restarts; this counts as a boot"
        )

    @post(
        "/takeover",
        operation_id="takeover_unit",
        summary="Make this standby unit active",
        description="Send to the standby's direct address; the partner becomes standby.",
        status_code=200,
        responses=responses(401, 403, 409, 503),
    )
    async def takeover_unit(self, engine: EngineDep) -> PairStatus:
        await engine.takeover()
        return await engine.status()

    @put(
        "/maintenance",
        operation_id="set_maintenance",
        opt={"serve": "ha"},
        summary="Maintenance on or off for this unit",
        description=(
            "A unit in maintenance never becomes active, keeps its Redis a replica of the "
            "active's and shows `not_operational` / `yellow` / `maintenance`. An active unit "
            "first hands over as in a planned switchover (409 `switchover-refused` when a "
            "check fails, unless `?force=true`). Kept in the data dir until disabled."
        ),
        status_code=200,
        responses=responses(400, 401, 403, 409, 413, 415, 422, 503),
    )
    async def set_maintenance(
        self,
        unit: NamedDependency[UnitService],
        data: SkipValidation[wire.MaintenanceWrite],
        force: Annotated[
            bool, Parameter(description="Skip the hand-over checks of an active unit.")
        ] = False,
    ) -> wire.UnitView:
        return await unit.set_maintenance(data, force=force)
