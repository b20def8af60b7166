"""Every Redis key hapair uses is built here."""

PREFIX = "hapair"

REVISION = f"{PREFIX}:params:revision"
PARAMETERS = f"{PREFIX}:params:current"
HISTORY = f"{PREFIX}:params:history"
CONFLICTS = f"{PREFIX}:conflicts"
TOKENS = f"{PREFIX}:tokens"

HISTORY_KEEP = 1000

EVENTS = f"{PREFIX}:events"
EVENTS_KEEP = 10_000  # at least this many events are kept (SPEC 5a)
