"""Limits of the contract, each written once (the store, the services, the API, the engine
and the settings read them here)."""

# The history keeps the newest revisions (older ones are trimmed at each commit), and a history
# page lists at most as many: ``GET /ha/parameters/history?limit=`` is 1..HISTORY_KEEP.
HISTORY_KEEP = 1000

# The HTTP methods hapair serves; any other is answered 405 with this detail and ``Allow``, by
# the listener (engine/limits.py) for what its parser refuses and by the app (app.py) for the rest.
METHODS: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
METHODS_DETAIL = f"hapair serves {', '.join(METHODS[:-1])} and {METHODS[-1]}"
METHODS_ALLOW = ", ".join(sorted(METHODS))

