"""The operator's role hook (``--on-role-change``): a shell command run on each role change,
with the role, unit, shared address and virtual ID in its environment, 30 s at most."""

from __future__ import annotations

import asyncio
import logging

from hapair.engine.ports import Spawn
from hapair.secretfiles import hook_environment

log = logging.getLogger("hapair.engine")

HOOK_S = 30.0


class ShellHook:
    """Runs the hook in the background (the node never waits for it)."""

    def __init__(self, command: str | None, spawn: Spawn) -> None:
        self.command = command
        self._spawn = spawn

    def run_role_hook(self, role: str, unit: str, shared: str | None, virtual_id: int) -> None:
        if not self.command:
            return
        env = hook_environment(
            {
                "HAPAIR_ROLE": role,
                "HAPAIR_UNIT": unit,
                "HAPAIR_SHARED_ADDRESS": shared or "",
                "HAPAIR_VIRTUAL_ID": str(virtual_id),
            }
        )  # no secret: every other HAPAIR_* variable is dropped
        self._spawn(self._run(self.command, env), "role-hook")

    async def _run(self, cmd: str, env: dict[str, str]) -> None:
        proc = await asyncio.create_subprocess_shell(cmd, env=env)
        try:
            rc = await asyncio.wait_for(proc.wait(), timeout=HOOK_S)
        except TimeoutError:
            proc.kill()
            rc = await proc.wait()
        log.info(
            "role hook ran", extra={"event": "role-hook", "role": env["HAPAIR_ROLE"], "rc": rc}
        )
