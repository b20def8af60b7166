"""The image's HEALTHCHECK: GET /readyz on the unit's own direct address, exit 0 when 200.

Standard library only (the image has no curl). The address comes from ``HAPAIR_LISTEN``
(the same variable ``hapair serve`` reads); a wildcard host is asked on loopback. With
``HAPAIR_TLS_CERT`` set the unit serves HTTPS; the check does not verify the certificate
(it talks to its own process, and the name in the certificate need not be the address).
"""

import os
import ssl
import sys
import urllib.request

listen = os.environ.get("HAPAIR_LISTEN", "127.0.0.1:8080")
host, _, port = listen.rpartition(":")
host = host.strip("[]")
if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - mapping the wildcard to loopback
    host = "127.0.0.1" if host != "::" else "::1"
if ":" in host:
    host = f"[{host}]"
tls = bool(os.environ.get("HAPAIR_TLS_CERT"))
context = None
if tls:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
url = f"{'https' if tls else 'http'}://{host}:{port}/readyz"
try:
    with urllib.request.urlopen(url, timeout=2, context=context) as answer:  # noqa: S310
        sys.exit(0 if answer.status == 200 else 1)
except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy"
    print(f"{url}: {exc}", file=sys.stderr)
    sys.exit(1)
