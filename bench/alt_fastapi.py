"""The obvious alternative to hapair's API, for bench/throughput.py: FastAPI + pydantic over Redis.

The same routes (``GET`` and ``PATCH /api/v1/ha/parameters``) with roughly the same semantics:
a bearer token (SHA-256 digest compared in constant time), a strict pydantic model with the
ranges and cross-field rules, unknown fields refused (422), JSON merge patch with ``null``
resetting a field, ``If-Match`` / body ``revision`` checked (412), a compare-and-set commit in
one Lua script (revision, parameters and a capped history entry), and ``ETag: "<revision>"``.
What it leaves out (HA roles, ``WAIT`` for the partner, problem+json everywhere, metrics) is
not on the measured path of a lone hapair unit either, except hapair's metrics middleware.

Run: ``python -m bench.alt_fastapi --listen 127.0.0.1:8090 --redis redis://... --token T``
(served the way FastAPI's users serve it in production: uvicorn with uvloop and httptools,
no access log; hapair serves the same way).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import redis.asyncio as aioredis
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

REVISION, PARAMETERS, HISTORY = "alt:revision", "alt:parameters", "alt:history"
HISTORY_KEEP = 1000

COMMIT = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur ~= tonumber(ARGV[1]) then
  return {0, cur}
end
local new = cur + 1
redis.call('SET', KEYS[1], new)
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], new, ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[4]) + 1))
return {1, new}
"""

Interface = Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[^/:\s]+$")]


class HAParameters(BaseModel):
    """The stored parameters: strict types, ranges, unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    ha_timeout: Literal[3, 6, 9, 12, 15] = 9
    initial_wait_time: Annotated[int, Field(ge=0, le=180)] = 0
    virtual_id: Annotated[int, Field(ge=1, le=255)] | None = None
    use_broadcast: bool = False
    preferred_server: Literal["none", "first", "second"] = "none"
    update_interface: Interface = "eth0"
    hard_reboot_on_link_failure: bool = False
    l4_connection_updates: bool = False
    l4_sync_threshold: Annotated[int, Field(ge=1, le=254)] = 3
    l4_sync_period: Annotated[int, Field(ge=2, le=255)] = 50
    l4_sync_refresh_period: Annotated[int, Field(ge=0, le=10)] = 0
    l7_persistence_updates: bool = False
    multicast_interface: Interface = "eth0"
    use_virtual_mac: bool = False

    @model_validator(mode="after")
    def cross_field(self) -> HAParameters:
        if self.l4_sync_threshold >= self.l4_sync_period:
            raise ValueError(
                f"l4_sync_threshold ({self.l4_sync_threshold}) must be less than "
                f"l4_sync_period ({self.l4_sync_period})"
            )
        if self.hard_reboot_on_link_failure and self.preferred_server != "none":
            raise ValueError("hard_reboot_on_link_failure requires preferred_server to be none")
        return self


DEFAULTS = HAParameters()
READ_ONLY = frozenset({"revision", "updated_at", "virtual_id_source"})


class HAParametersResource(HAParameters):
    """The wire form: parameters plus revision metadata."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    virtual_id_source: Literal["auto", "manual"] = "auto"
    revision: int = 0
    updated_at: str | None = None


class Stored(BaseModel):
    params: HAParameters
    updated_at: str | None = None


def create_app(  # noqa: PLR0915  (one closure per route, as a FastAPI app is usually written)
    redis_url: str, token: str, shared_address: str = "127.0.0.10:8080"
) -> FastAPI:
    app = FastAPI(title="alt", docs_url=None, redoc_url=None)
    client = aioredis.Redis.from_url(redis_url, socket_timeout=1.5, socket_connect_timeout=1.0)
    commit = client.register_script(COMMIT)
    admin_digest = hashlib.sha256(token.encode()).hexdigest()
    auto_vid = int(shared_address.rpartition(":")[0].rsplit(".", 1)[-1]) or 1

    async def bearer(authorization: Annotated[str | None, Header()] = None) -> str:
        scheme, _, tok = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not tok:
            raise HTTPException(401, "a bearer token is required")
        if not hmac.compare_digest(hashlib.sha256(tok.strip().encode()).hexdigest(), admin_digest):
            raise HTTPException(401, "the bearer token is not valid")
        return "bootstrap-admin"

    async def read() -> tuple[int, HAParameters, str | None]:
        raw_rev, raw = await client.mget(REVISION, PARAMETERS)
        if raw is None:
            return int(raw_rev or 0), DEFAULTS, None
        stored = Stored.model_validate_json(raw, strict=False)
        return int(raw_rev or 0), stored.params, stored.updated_at

    def resource(
        params: HAParameters, revision: int, updated_at: str | None
    ) -> HAParametersResource:
        data = params.model_dump()
        source = "manual" if params.virtual_id is not None else "auto"
        data["virtual_id"] = params.virtual_id if params.virtual_id is not None else auto_vid
        return HAParametersResource(
            **data, virtual_id_source=source, revision=revision, updated_at=updated_at
        )

    @app.get("/api/v1/ha/parameters", response_model=HAParametersResource)
    async def get_parameters(
        response: Response, _actor: str = Depends(bearer)
    ) -> HAParametersResource:
        revision, params, updated_at = await read()
        response.headers["ETag"] = f'"{revision}"'
        return resource(params, revision, updated_at)

    @app.patch("/api/v1/ha/parameters", response_model=HAParametersResource)
    async def patch_parameters(
        request: Request,
        response: Response,
        actor: str = Depends(bearer),
        if_match: Annotated[str | None, Header()] = None,
    ) -> HAParametersResource:
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        if ctype not in ("application/json", "application/merge-patch+json"):
            raise HTTPException(415, "send application/merge-patch+json")
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise HTTPException(400, "body is not JSON") from exc
        if not isinstance(body, dict):
            raise HTTPException(422, "request body must be a JSON object")
        expected = [int(if_match.strip('"'))] if if_match and if_match != "*" else []
        if body.get("revision") is not None:
            expected.append(body["revision"])
        patch = {k: v for k, v in body.items() if k not in READ_ONLY}
        for _ in range(20):
            revision, current, _updated = await read()
            if any(e != revision for e in expected):
                raise HTTPException(412, f"revision is {revision}")
            merged = current.model_dump()
            for key, value in patch.items():
                merged[key] = getattr(DEFAULTS, key, None) if value is None else value
            try:
                new = HAParameters.model_validate(merged)
            except ValidationError as exc:
                raise HTTPException(422, json.loads(exc.json())) from exc
            changes = {
                k: [getattr(current, k), getattr(new, k)]
                for k in HAParameters.model_fields
                if getattr(current, k) != getattr(new, k)
            }
            if not changes:
                response.headers["ETag"] = f'"{revision}"'
                return resource(current, revision, _updated)
            now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            commit_id = uuid.uuid4().hex
            stored = Stored(params=new, updated_at=now).model_dump_json()
            entry = json.dumps(
                {"revision": revision + 1, "updated_at": now, "actor": actor, "changes": changes,
                 "params": new.model_dump(), "id": commit_id}
            )  # fmt: skip
            ok, new_rev = await commit(
                keys=[REVISION, PARAMETERS, HISTORY], args=[revision, stored, entry, HISTORY_KEEP]
            )
            if int(ok) == 1:
                response.headers["ETag"] = f'"{int(new_rev)}"'
                return resource(new, int(new_rev), now)
            if expected:
                raise HTTPException(412, f"revision is {int(new_rev)}")
        raise HTTPException(412, "too much contention")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--token", required=True)
    ns = parser.parse_args()
    host, _, port = ns.listen.rpartition(":")
    uvicorn.run(
        create_app(ns.redis, ns.token),
        host=host,
        port=int(port),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )


if __name__ == "__main__":
    main()
