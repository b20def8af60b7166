"""Runs ``python -m hapair ARGS`` under ``tracemalloc``, for ``bench/idle.py --traced``:
SIGUSR2 writes where the Python memory that is still held was allocated, grouped by the
package whose code allocated it, to ``$HAPAIR_BENCH_TRACED``. Nothing in hapair knows about it.

An allocation is charged to the innermost frame in code of a package (``site-packages`` or
hapair itself), not to the standard library it called: ``typing``'s objects made while
litestar builds its signatures are litestar's. What only the standard library allocated
(asyncio, the interpreter's own imports) is charged to the standard library module.

``python -m bench.traced serve --listen ...``
"""

from __future__ import annotations

import gc
import os
import signal
import tracemalloc
from collections import defaultdict
from types import FrameType

from bench.wrapped import run_hapair

FRAMES = 12


def owner(filename: str) -> str | None:
    """The package a file belongs to, with its module or subpackage (``litestar.openapi``,
    ``hapair.api``); None for the standard library and the import machinery."""
    for marker in ("site-packages/", "dist-packages/"):
        if marker in filename:
            parts = filename.split(marker, 1)[1].split("/")
            return ".".join(p.removesuffix(".py") for p in parts[:2])
    if "/hapair/" in filename and "/service/" in filename:
        parts = filename.split("/service/", 1)[1].split("/")
        return ".".join(p.removesuffix(".py") for p in parts[:2])
    return None


def _dump(_sig: int, _frame: FrameType | None) -> None:
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()  # one dump a run: the grouping below runs untraced
    by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    sites: dict[str, int] = defaultdict(int)
    for trace in snapshot.traces:
        name = None
        for frame in reversed(trace.traceback):  # innermost first
            name = owner(frame.filename)
            if name is not None:
                where = "/".join(frame.filename.rsplit("/", 2)[-2:])
                sites[f"{where}:{frame.lineno}"] += trace.size
                break
        if name is None:
            inner = trace.traceback[-1].filename if trace.traceback else "?"
            name = "stdlib:" + os.path.basename(inner).removesuffix(".py").replace(" ", "_")
        by[name][0] += trace.size
        by[name][1] += 1
    total = sum(s for s, _ in by.values())
    path = os.environ["HAPAIR_BENCH_TRACED"]
    with open(path + ".part", "w") as out:
        out.write(f"total {total}\n")
        for name, (size, count) in sorted(by.items(), key=lambda kv: -kv[1][0]):
            out.write(f"{name} {size} {count}\n")
        for site, size in sorted(sites.items(), key=lambda kv: -kv[1])[:40]:
            out.write(f"site:{site} {size} 0\n")
    os.replace(path + ".part", path)


def main() -> None:
    tracemalloc.start(FRAMES)
    run_hapair({signal.SIGUSR2: _dump})


if __name__ == "__main__":
    main()
