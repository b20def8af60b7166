"""``/api/v1/ha/*``: the pair-wide resources."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import Parameter, SkipValidation

from hapair.api import wire
from hapair.api.deps import EngineDep
from hapair.api.media import if_match
from hapair.api.problems import responses
from hapair.domain.applied import ParametersApplied
from hapair.domain.errors import Malformed, RevisionMismatch
from hapair.domain.limits import HISTORY_KEEP
from hapair.domain.status import PairStatus
from hapair.services.parameters import ParametersService, WriteKind, WriteResult

READ = (401, 403, 409, 503)
WRITE = (400, 401, 403, 404, 409, 412, 413, 415, 422, 503)

DryRun = Annotated[
    bool, Parameter(description="Validate and answer what would be stored; store nothing.")
]


def _write_response(result: WriteResult, dry_run: bool) -> Response[wire.HAParametersResource]:
    headers = {"ETag": f'"{result.resource.revision}"'}
    if dry_run:
        headers = {"HA-Dry-Run": "true"}
    elif result.acknowledged is not None:
        headers["HA-Partner-Acknowledged"] = "true" if result.acknowledged else "false"
    return Response(result.resource, headers=headers)


async def _write(
    request: Request[Any, Any, Any],
    parameters: NamedDependency[ParametersService],
    kind: WriteKind,
    raw: object,
    dry_run: bool,
) -> Response[wire.HAParametersResource]:
    actor = request.scope["state"].get("actor", "anonymous")
    via_shared = parameters.engine.is_shared(request.scope.get("server"))
    try:
        expected = if_match(request)
    except RevisionMismatch:
        # An If-Match naming no revision is a failed precondition, but only for a request that
        # would otherwise succeed (RFC 9110 13.2.1): validate it first (stores nothing).
        await parameters.write(
            kind, raw, if_match=None, actor=actor, dry_run=True, via_shared=via_shared
        )
        raise
    result = await parameters.write(
        kind, raw, if_match=expected, actor=actor, dry_run=dry_run, via_shared=via_shared
    )
    return _write_response(result, dry_run)


class HAController(Controller):
    """The HA parameters, their history, conflicts, status and actions."""

    path = "/ha"
    tags = ["ha"]  # noqa: RUF012

    @get(
        "/parameters",
        operation_id="get_parameters",
        opt={"serve": "ha"},
        summary="Read the HA parameters",
        description="The pair's HA parameters; the `ETag` is the revision.",
        responses=responses(*READ),
    )
    async def get_parameters(
        self, parameters: NamedDependency[ParametersService]
    ) -> Response[wire.HAParametersResource]:
        current = await parameters.get()
        return Response(
            current.body,  # type: ignore[arg-type]  # pre-encoded HAParametersResource
            media_type="application/json",
            headers={"ETag": f'"{current.snap.revision}"'},
        )

    @put(
        "/parameters",
        operation_id="replace_parameters",
        opt={"serve": "pair-write", "media": "json"},
        summary="Replace the HA parameters",
        description="Full replace: omitted fields take their defaults. `If-Match` or a body "
        "`revision`, when given, must be the current revision.",
        responses=responses(*WRITE),
    )
    async def replace_parameters(
        self,
        request: Request[Any, Any, Any],
        parameters: NamedDependency[ParametersService],
        data: SkipValidation[wire.HAParametersWrite],
        dry_run: DryRun = False,
    ) -> Response[wire.HAParametersResource]:
        return await _write(request, parameters, "put", data, dry_run)

    @patch(
        "/parameters",
        operation_id="patch_parameters",
        opt={"serve": "pair-write", "media": "merge-patch"},
        summary="Change some HA parameters (JSON merge patch)",
        description="RFC 7396 merge patch; `null` resets a field to its default.",
        responses=responses(*WRITE),
    )
    async def patch_parameters(
        self,
        request: Request[Any, Any, Any],
        parameters: NamedDependency[ParametersService],
        data: SkipValidation[wire.HAParametersPatch],
        dry_run: DryRun = False,
    ) -> Response[wire.HAParametersResource]:
        return await _write(request, parameters, "patch", data, dry_run)

    @get(
        "/parameters/applied",
        operation_id="get_parameters_applied",
        opt={"serve": "ha"},
        summary="Whether each parameter is applied on each unit",
        description=(
            "Per unit, per parameter: `state` (`applied`, `pending`, `unsupported`, `failed`) "
            "and `detail` (what it drives, or why it is not applied), and the unit's "
            "`observed_revision` (the revision its data plane last applied). The answering "
            "unit first; the partner's part as its last heartbeat said (`parameters` empty "
            "when never heard). Served on any address in HA mode; 409 `ha-disabled` on a "
            "`non_ha` unit."
        ),
        responses=responses(*READ),
    )
    async def get_parameters_applied(self, engine: EngineDep) -> ParametersApplied:
        return engine.applied()

    @get(
        "/parameters/history",
        operation_id="list_history",
        opt={"serve": "ha"},
        summary="List committed revisions",
        description="Newest first; continue with `before=next_before`.",
        responses=responses(400, *READ),
    )
    async def list_history(
        self,
        request: Request[Any, Any, Any],
        parameters: NamedDependency[ParametersService],
        limit: Annotated[int, Parameter(ge=1, le=HISTORY_KEEP, description="Items per page.")] = 50,
        before: Annotated[
            int | None, Parameter(ge=0, description="Only revisions below this one.")
        ] = None,
    ) -> wire.HistoryPage:
        if before is None and "before" in request.query_params:
            # Litestar reads ``before=null`` as None; the document says an integer.
            raise Malformed("before must be a non-negative integer (omit it for the newest)")
        return await parameters.history(limit=limit, before=before)

    @get(
        "/parameters/history/{revision:int}",
        operation_id="get_history_revision",
        opt={"serve": "ha"},
        summary="Read the parameters as of one revision",
        responses=responses(400, 404, *READ),
    )
    async def get_history_revision(
        self,
        parameters: NamedDependency[ParametersService],
        revision: Annotated[int, Parameter(ge=0)],
    ) -> wire.HAParametersResource:
        return await parameters.at_revision(revision)

    @post(
        "/parameters/rollback",
        operation_id="rollback_parameters",
        opt={"serve": "pair-write", "media": "json"},
        summary="Commit a new revision equal to an earlier one",
        responses=responses(*WRITE),
        status_code=200,
    )
    async def rollback_parameters(
        self,
        request: Request[Any, Any, Any],
        parameters: NamedDependency[ParametersService],
        data: SkipValidation[wire.RollbackRequest],
        dry_run: DryRun = False,
    ) -> Response[wire.HAParametersResource]:
        return await _write(request, parameters, "rollback", data, dry_run)

    @get(
        "/conflicts",
        operation_id="list_conflicts",
        opt={"serve": "ha"},
        summary="Revisions archived after a split brain",
        responses=responses(*READ),
    )
    async def list_conflicts(
        self, parameters: NamedDependency[ParametersService]
    ) -> wire.ConflictsPage:
        return await parameters.conflicts()

    @get(
        "/status",
        operation_id="get_status",
        summary="The pair's status (the seed's icons)",
        description=(
            "With `wait_in_sync=N` it answers as soon as the active and the standby both hold "
            "revision N or later, or when `timeout` seconds have passed; header `HA-In-Sync` "
            "says which (without `wait_in_sync`: whether the standby holds the active's "
            "revision)."
        ),
        responses=responses(400, 401, 403, 503),
        response_headers=[
            ResponseHeader(
                name="HA-In-Sync",
                description="`true` when the active and the standby hold the revision asked "
                "for (or the same revision)",
                documentation_only=True,
            )
        ],
    )
    async def get_status(
        self,
        request: Request[Any, Any, Any],
        engine: EngineDep,
        wait_in_sync: Annotated[
            int | None, Parameter(ge=0, description="Wait until both units hold this revision.")
        ] = None,
        timeout: Annotated[  # noqa: ASYNC109 - the query parameter the SPEC names
            float, Parameter(ge=1, le=60, description="Longest wait, seconds (1..60).")
        ] = 10,
    ) -> Response[PairStatus]:
        if wait_in_sync is None and "wait_in_sync" in request.query_params:
            # Litestar reads ``wait_in_sync=null`` as None; the document says an integer.
            raise Malformed("wait_in_sync must be a non-negative integer (omit it not to wait)")
        status, in_sync = await engine.status_in_sync(wait_in_sync, wait_s=timeout)
        return Response(status, headers={"HA-In-Sync": "true" if in_sync else "false"})

    @post(
        "/actions/force-partner-update",
        operation_id="force_partner_update",
        opt={"serve": "pair-write", "action": True},
        summary="Resync the standby now",
        description="On the active: answers once the partner holds the active's revision.",
        responses=responses(401, 403, 409, 503),
        status_code=200,
    )
    async def force_partner_update(self, engine: EngineDep) -> wire.ForcePartnerUpdateResult:
        # where it may be served (the active's shared address) was checked before: opt serve
        revision, partner_revision, seconds = await engine.force_partner_update()
        return wire.ForcePartnerUpdateResult(
            revision=revision,
            partner_revision=partner_revision,
            duration_ms=round(seconds * 1000, 3),
        )

    @post(
        "/actions/switchover",
        operation_id="switchover",
        opt={"serve": "pair-write", "action": True},
        summary="Planned switchover to the standby",
        description=(
            "On the active: runs the checks (`partner-reachable`, `partner-standby`, "
            "`partner-in-sync`, `partner-not-pacified`, `partner-not-in-maintenance`, "
            "`preferred-server`); when all pass the standby becomes active and this unit "
            "standby, and the answer comes once the new active serves the shared address. "
            "One failed check: 409 `switchover-refused` with `checks`. `?dry_run=true` runs "
            "only the checks."
        ),
        responses=responses(400, 401, 403, 409, 503),
        status_code=200,
    )
    async def switchover(self, engine: EngineDep, dry_run: DryRun = False) -> wire.SwitchoverResult:
        ok, checks, to, seconds = await engine.switchover(dry_run=dry_run)
        found = [wire.SwitchoverCheck(name=c.name, ok=c.ok, detail=c.detail) for c in checks]
        if dry_run:
            return wire.SwitchoverResult(ok=ok, checks=found)
        return wire.SwitchoverResult(
            from_unit=engine.name,
            to_unit=to,
            duration_ms=round(seconds * 1000, 3),
            checks=found,
        )

    @post(
        "/actions/announce",
        operation_id="announce_virtual_ip",
        opt={"serve": "pair-write", "action": True},
        summary="Re-announce the virtual IP",
        description=(
            "On the active started with --shared-interface: gratuitous ARPs (IPv4) or "
            "unsolicited neighbour advertisements (IPv6) for the shared IP, now."
        ),
        responses=responses(401, 403, 409, 503),
        status_code=200,
    )
    async def announce(self, engine: EngineDep) -> wire.AnnounceResult:
        # where it may be served (the active's shared address) was checked before: opt serve
        address, interface, sent = await engine.announce()
        return wire.AnnounceResult(address=address, interface=interface, sent=sent)
