"""Limits of the contract, each written once (the store, the services, the API, the engine
and the settings read them here)."""

# The history keeps the newest revisions (older ones are trimmed at each commit), and a history
# page lists at most as many: ``GET /ha/parameters/history?limit=`` is 1..HISTORY_KEEP.
HISTORY_KEEP = 1000

# The HTTP methods hapair serves; any other is answered 405 with this detail and ``Allow``, by
# the listener (server/limits.py) for what its parser refuses and by the app (app.py) for the rest.
METHODS: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
METHODS_DETAIL = f"hapair serves {', '.join(METHODS[:-1])} and {METHODS[-1]}"
METHODS_ALLOW = ", ".join(sorted(METHODS))

# The connection budget of each listener (--max-connections, --max-connections-per-client).
MAX_CONNECTIONS = 256
MAX_CONNECTIONS_PER_CLIENT = 32

# The event stream: at least this many events are kept (SPEC 5a; HAPAIR_EVENTS_KEEP), a
# client's live events queued at most (HAPAIR_EVENTS_QUEUE), the bytes a directly written
# client may leave unread (HAPAIR_EVENTS_CLIENT_BUFFER), the keepalive's interval
# (HAPAIR_EVENTS_KEEPALIVE_S).
EVENTS_KEEP = 10_000
EVENTS_QUEUE = 1000
EVENTS_CLIENT_BUFFER = 256 * 1024
EVENTS_KEEPALIVE_S = 15.0
