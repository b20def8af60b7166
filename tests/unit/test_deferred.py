"""What ``hapair serve`` defers (service/hapair/deferred.py) is not run by the unit's imports,
and is the real module for whoever reads from it. Each check runs in a fresh interpreter: this
one has imported them all already."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_units_imports_leave_them_unrun() -> None:
    out = run(
        """
        import sys
        from hapair import deferred
        deferred.defer_unused()
        import hapair.bootstrap, hapair.server.listener
        from hapair.bootstrap import build  # what serve imports
        print(sorted(m for m in ("click", "uvicorn.main", "yaml.cyaml", "_yaml", "bdb", "cmd")
                     if m in sys.modules))
        """
    )
    assert out == "[]"


def test_they_are_the_real_modules_when_read() -> None:
    out = run(
        """
        import sys
        from hapair import deferred
        deferred.defer_unused()
        import uvicorn, uvicorn.config, yaml, pdb
        from uvicorn import Config
        assert Config is uvicorn.config.Config and "uvicorn.main" not in sys.modules
        assert callable(uvicorn.run) and "click" in sys.modules  # the real __init__ ran
        assert yaml.safe_load(yaml.dump({"a": [1, 2]})) == {"a": [1, 2]}
        assert issubclass(pdb.Pdb, __import__("bdb").Bdb)
        assert deferred.defer("yaml") is False  # imported: left alone
        import importlib
        print("ok", uvicorn.__version__ == importlib.import_module("uvicorn._version").__version__)
        """
    )
    assert out == "ok True"
