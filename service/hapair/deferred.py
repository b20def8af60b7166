"""Modules a unit's libraries import at their top but a unit never uses: made without running
their code, which runs only if something reads from them (issue 23: an idle paired unit may use
60 MB with its Redis, and most of a unit's memory is code it imported).

- ``uvicorn``: its package ``__init__`` imports its command line (``uvicorn.main``: click,
  multiprocessing, the supervisors; about 1.6 MB) to offer ``uvicorn.run``; hapair runs
  uvicorn's ``Server`` with its own listeners (``server/listener.py``). Its submodules import as
  ever; ``uvicorn.Config``, ``Server`` and ``__version__`` (uvicorn's own lifespan modules do
  ``from uvicorn import Config``) are read from their modules.
- ``yaml`` (litestar's OpenAPI plugins, for the YAML rendering of the schema; about 0.9 MB with
  its C extension) and ``pdb`` (litestar's ``pdb_on_exception``; 0.25 MB with ``bdb``, ``cmd``,
  ``code``).

A deferred module is the real one: reading anything it defines (``uvicorn.run``,
``yaml.dump``, ``pdb.set_trace``) runs its code then, once. ``hapair serve`` defers them before
it imports anything else (``cli/serve.py``); other processes import them as always.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

# uvicorn's package names its server modules give without its __init__
_UVICORN = {
    "Config": ("uvicorn.config", "Config"),
    "Server": ("uvicorn.server", "Server"),
    "__version__": ("uvicorn._version", "__version__"),
}


def defer(name: str, light: dict[str, tuple[str, str]] | None = None) -> bool:
    """Puts module ``name`` in ``sys.modules`` without running its code: the first read of a
    name it defines runs it (``light``: names read from another module instead, without running
    it). False when it is imported already or cannot be found."""
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return False
    module = importlib.util.module_from_spec(spec)  # __spec__, __path__, __file__: no code run
    loader = spec.loader

    def __getattr__(attr: str) -> Any:
        # a name the module's dict lacks (PEP 562): the import system's own reads (__spec__,
        # __path__) find theirs, so ``import name`` and its submodules' imports do not get here
        where = (light or {}).get(attr)
        if where is not None:
            value = getattr(importlib.import_module(where[0]), where[1])
        else:
            module.__dict__.pop("__getattr__", None)
            loader.exec_module(module)
            value = getattr(module, attr)
        setattr(module, attr, value)
        return value

    module.__dict__["__getattr__"] = __getattr__
    sys.modules[name] = module
    return True


def defer_unused() -> None:
    """What ``hapair serve`` defers (this module's docstring)."""
    defer("uvicorn", _UVICORN)
    defer("yaml")
    defer("pdb")
