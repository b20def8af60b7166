"""The build's identity, written once: hapair's version and the unit-to-unit protocol.

``PROTOCOL`` is the integer version of the messages between the two units (heartbeat, demote,
hand-over, their MAC). Units whose protocols differ by at most 1 pair normally (how a pair is
upgraded one unit at a time); further apart they refuse each other (``version-skew``, SPEC 5
"Versions"). So protocol N+1 must read every message of N and N must read every message of
N+1 (new fields with defaults, nothing removed that N needs). Raise it by one for such a
change; raise it by two when N cannot read N+1 at all (a new MAC, a field N needs removed), so
that the rule itself says the two do not pair.

History (CHANGELOG.md, docs/operations.md "What pairs with what"):

- 3: hapair 0.1.0 (and every build before heartbeats carried a protocol).
- 4: never released. 0.2.0's MAC (pair id, key id, challenge-bound calls, nonce-bound answers)
  cannot be read by 0.1.0 nor 0.1.0's by 0.2.0: they must count as two apart.
- 5: hapair 0.2.0.
"""

from __future__ import annotations

from typing import Final

from hapair import __version__

VERSION: Final[str] = __version__
PROTOCOL: Final[int] = 5
