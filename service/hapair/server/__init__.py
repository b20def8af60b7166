"""The HTTP listeners of a unit and their limits (SPEC section 6), below the engine and the API.

Importing this package leaves uvicorn's command line unimported (``_uvicorn_without_its_cli``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

# what uvicorn's package __init__ defines that its server modules give without its CLI
_LIGHT = {
    "Config": ("uvicorn.config", "Config"),
    "Server": ("uvicorn.server", "Server"),
    "__version__": ("uvicorn._version", "__version__"),
}


def _uvicorn_without_its_cli() -> None:
    """uvicorn's package ``__init__`` imports its command line (``uvicorn.main``: click,
    multiprocessing and the supervisors, about 1.6 MB of every unit's memory; issue 23) only to
    offer ``uvicorn.run`` and ``uvicorn.main``, which hapair never calls: it runs uvicorn's
    ``Server`` with its own listeners (``listener.py``).

    Unless uvicorn is imported already, its package module is made from its spec without
    running that ``__init__``; its submodules import as ever. Reading ``uvicorn.Config``,
    ``uvicorn.Server`` or ``uvicorn.__version__`` gives them from their modules (uvicorn's own
    lifespan modules do ``from uvicorn import Config``); reading anything else the package
    defines (``uvicorn.run``, ``uvicorn.main``) runs the real ``__init__`` then, so other code
    in the process sees uvicorn as it always is.
    """
    if "uvicorn" in sys.modules:
        return
    spec = importlib.util.find_spec("uvicorn")
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)

    def __getattr__(name: str) -> Any:
        light = _LIGHT.get(name)
        if light is not None:
            value = getattr(importlib.import_module(light[0]), light[1])
        else:
            del package.__dict__["__getattr__"]
            spec.loader.exec_module(package)  # type: ignore[union-attr]
            value = getattr(package, name)
        setattr(package, name, value)
        return value

    package.__dict__["__getattr__"] = __getattr__
    sys.modules["uvicorn"] = package


_uvicorn_without_its_cli()
