"""Unit-to-unit authentication: an HMAC-SHA256 of the body and a timestamp under the pair key.

The key itself never crosses the wire; a replayed message is refused once it is older than
the skew window.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "x-hapair-signature"
TIMESTAMP_HEADER = "x-hapair-timestamp"
MAX_SKEW_S = 30.0


def sign(pair_key: str, body: bytes, timestamp: float | None = None) -> dict[str, str]:
    """The headers that authenticate ``body`` under ``pair_key``."""
    ts = f"{time.time() if timestamp is None else timestamp:.3f}"
    mac = hmac.new(pair_key.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {SIGNATURE_HEADER: mac, TIMESTAMP_HEADER: ts}


def verify(pair_key: str | None, body: bytes, signature: str | None, timestamp: str | None) -> bool:
    """Whether a message carries a valid, fresh signature under ``pair_key``."""
    if not pair_key or not signature or not timestamp:
        return False
    try:
        ts = float(timestamp)
    except ValueError:
        return False
    if abs(time.time() - ts) > MAX_SKEW_S:
        return False
    expected = hmac.new(
        pair_key.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature)
