"""The build's identity, written once: hapair's version and the unit-to-unit protocol.

``PROTOCOL`` is the integer version of the messages between the two units (heartbeat, demote,
hand-over). Units whose protocols differ by at most 1 pair normally (how a pair is upgraded one
unit at a time); further apart they refuse each other (``version-skew``, SPEC 5 "Versions").
Raise it whenever a message between units changes in a way an older unit cannot read.
"""

from __future__ import annotations

from typing import Final

from hapair import __version__

VERSION: Final[str] = __version__
PROTOCOL: Final[int] = 3
