"""``hapair token create|list|revoke``.

Where ``hapair token`` acts, first match wins:

1. ``--url URL`` (``HAPAIR_URL``): that unit's API, with ``--token-file``/``--token`` (or the
   ``admin.token`` of ``--data-dir``). Send it to the shared address: token writes are
   pair-wide writes (the standby's direct address answers 409 ``use-shared-address``).
2. A pair of ``hapair up`` in ``--data-dir`` (its ``up.json``): the pair's shared address with
   its ``admin.token``. ``up.json`` is read only if it is this user's own file (not a symlink)
   and its URL is an http(s) URL of a loopback address, as ``hapair up`` writes; else refused,
   exit 2, no request made (``hapair.cli.upfile``). This is what a user with a running pair
   expects: the token is created on the active and reaches the standby by replication.
3. Otherwise the Redis of the unit whose data dir this is (``runtime.json``; ``--redis URL``
   overrides): works before any admin token exists, e.g. for the first token of a
   ``hapair serve`` started without ``--admin-token-file``. A standby's Redis is read-only:
   create and revoke there fail and say so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from hapair.cli.text import printable
from hapair.cli.upfile import UpFileError, up_url
from hapair.secretfiles import SecretError, read_secret
from hapair.settings import DEFAULT_DATA_DIR, option, positive_int


def add_parser(sub: Any) -> None:
    """Adds ``token`` to the ``hapair`` command."""
    tok = sub.add_parser("token", help="API tokens: create, list, revoke")
    tok_sub = tok.add_subparsers(dest="token_command", required=True)
    create = tok_sub.add_parser("create", help="create a token (printed once)")
    create.add_argument("--role", choices=["admin", "viewer"], required=True)
    create.add_argument(
        "--expires-in", type=positive_int, default=None, metavar="S", help="seconds (> 0)"
    )
    create.add_argument("--description", default=None, metavar="D")
    tok_sub.add_parser("list", help="list tokens (never the tokens themselves)")
    revoke = tok_sub.add_parser("revoke", help="revoke a token at once on both units")
    revoke.add_argument("id")
    for p in tok_sub.choices.values():
        option(p, "--data-dir", env="DATA_DIR", default=DEFAULT_DATA_DIR)
        option(p, "--url", env="URL", help="a unit's API (the shared address)")
        option(p, "--token", env="TOKEN", help="admin token (prefer --token-file)")
        option(p, "--token-file", env="TOKEN_FILE", help="file with an admin token")
        option(p, "--tls-ca", env="TLS_CA", help="CA of the unit's certificate")
        option(p, "--redis", env="REDIS", help="the unit's Redis (no --url)")
        p.add_argument("--json", action="store_true", help="print JSON")


def _fail(message: str) -> int:
    print(f"hapair token: {printable(message)}", file=sys.stderr)
    return 2


def _api_target(ns: argparse.Namespace) -> tuple[str, str] | None:
    """(base URL, admin token) when the command goes through the API, else None."""
    data_dir = Path(ns.data_dir)
    url = ns.url
    if url is None:  # checked: the admin token goes only to a loopback http(s) URL
        url = up_url(data_dir)
    if url is None:
        return None
    if ns.token_file:
        token = read_secret(ns.token_file, "token")
    elif ns.token:
        token = ns.token
    elif (data_dir / "admin.token").exists():
        token = read_secret(data_dir / "admin.token", "admin token")
    else:
        raise SecretError("an admin token is needed: --token-file F (or HAPAIR_TOKEN_FILE)")
    return url.rstrip("/"), token


def _print_list(items: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"items": items}, indent=2))
        return
    print(f"{'ID':<16}  {'ROLE':<6}  {'CREATED':<24}  {'EXPIRES':<24}  DESCRIPTION")
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    for t in items:
        expires = t["expires_at"] or "never"
        if t["expires_at"] and t["expires_at"][:19] <= now:
            expires += " (expired)"
        print(
            f"{t['id']:<16}  {t['role']:<6}  {t['created_at']:<24}  {expires:<24}  "
            f"{printable(t['description'] or '')}"
        )


def _print_created(created: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(created, indent=2))
        return
    print(created["token"])
    expiry = f"expires {created['expires_at']}" if created["expires_at"] else "no expiry"
    print(
        f"role {created['role']}, id {created['id']}, {expiry}; shown once, stored hashed",
        file=sys.stderr,
    )


def _via_api(ns: argparse.Namespace, base: str, token: str) -> int:
    import httpx

    action = ns.token_command
    headers = {"Authorization": f"Bearer {token}"}
    verify: str | bool = ns.tls_ca or True
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=10, verify=verify) as client:
            if action == "create":
                body = {
                    "role": ns.role,
                    "description": ns.description,
                    "expires_in_s": ns.expires_in,
                }
                r = client.post("/api/v1/tokens", json=body)
                if r.status_code == 201:
                    _print_created(r.json(), ns.json)
                    return 0
            elif action == "list":
                r = client.get("/api/v1/tokens")
                if r.status_code == 200:
                    _print_list(r.json()["items"], ns.json)
                    return 0
            else:
                r = client.delete(f"/api/v1/tokens/{ns.id}")
                if r.status_code == 204:
                    print(f"token {ns.id} revoked", file=sys.stderr)
                    return 0
    except httpx.HTTPError as exc:
        return _fail(f"{base} is not reachable: {exc}")
    try:
        problem = r.json()
        detail = problem.get("detail") or r.text
        for err in problem.get("errors") or []:
            detail += f"; {err.get('pointer')}: {err.get('detail')}"
    except ValueError:
        detail = r.text
    return _fail(f"{r.status_code} {detail}")


def _via_redis(ns: argparse.Namespace) -> int:
    from redis.exceptions import ReadOnlyError

    from hapair.domain.errors import DomainError, StoreUnavailable
    from hapair.services.tokens import TokensService, item
    from hapair.store import tokens as token_store
    from hapair.store.client import connect
    from hapair.store.redis import Store
    from hapair.store.unitfile import UnitFiles

    url = ns.redis
    if url is None:
        runtime = UnitFiles(Path(ns.data_dir)).load_runtime()
        url = str(runtime["redis_url"]) if runtime and runtime.get("redis_url") else None
    if url is None:
        return _fail(
            f"no running unit in {ns.data_dir} (no runtime.json) and no --url: "
            "start the unit, or give --url of a running one"
        )

    action = ns.token_command

    async def run() -> int:
        store = Store(connect(url))
        service = TokensService(store)
        try:
            if action == "create":
                body = {
                    "role": ns.role,
                    "description": ns.description,
                    "expires_in_s": ns.expires_in,
                }
                created = await service.create(body)
                _print_created(
                    {
                        "id": created.id,
                        "token": created.token,
                        "role": created.role,
                        "expires_at": created.expires_at,
                    },
                    ns.json,
                )
            elif action == "list":
                records = await token_store.list_all(store)
                items = [
                    {
                        "id": i.id,
                        "role": i.role,
                        "description": i.description,
                        "created_at": i.created_at,
                        "expires_at": i.expires_at,
                    }
                    for i in map(item, records)
                ]
                _print_list(items, ns.json)
            else:
                await service.revoke(ns.id)
                print(f"token {ns.id} revoked", file=sys.stderr)
        finally:
            await store.close()
        return 0

    try:
        return asyncio.run(run())
    except StoreUnavailable as exc:
        if isinstance(exc.__cause__, ReadOnlyError):
            return _fail("this unit is a standby (read-only): change tokens on the active")
        return _fail(f"the unit's Redis is not reachable: {exc.detail}")
    except DomainError as exc:
        return _fail(exc.detail)


def cmd_token(ns: argparse.Namespace) -> int:
    """``hapair token create|list|revoke``."""
    try:
        target = _api_target(ns)
    except (SecretError, UpFileError) as exc:
        return _fail(str(exc))
    if target is not None:
        return _via_api(ns, *target)
    return _via_redis(ns)
