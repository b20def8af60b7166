"""``hapair key generate``: a new pair key, printed or written to a new 0600 file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hapair.secretfiles import new_pair_key, write_secret


def add_parser(sub: Any) -> None:
    """Adds ``key`` to the ``hapair`` command."""
    key = sub.add_parser("key", help="pair keys")
    key_sub = key.add_subparsers(dest="key_command", required=True)
    gen = key_sub.add_parser("generate", help="print a new pair key (43 URL-safe characters)")
    gen.add_argument("--out", default=None, help="write it to this new file (mode 0600) instead")


def cmd_key(ns: argparse.Namespace) -> int:
    """``hapair key generate [--out F]``."""
    key = new_pair_key()
    if ns.out is None:
        print(key)
        return 0
    try:
        write_secret(Path(ns.out), key)
    except OSError as exc:
        print(f"hapair key: cannot create {ns.out}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"pair key written to {ns.out} (mode 0600)", file=sys.stderr)
    return 0
