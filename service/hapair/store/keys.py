"""Every Redis key hapair uses is built here."""

from hapair.domain import limits

PREFIX = "hapair"

REVISION = f"{PREFIX}:params:revision"
PARAMETERS = f"{PREFIX}:params:current"
HISTORY = f"{PREFIX}:params:history"
CONFLICTS = f"{PREFIX}:conflicts"
TOKENS = f"{PREFIX}:tokens"
TOKENS_REVOKED = f"{PREFIX}:tokens:revoked"  # digest -> {"id", "revoked_at"}: never undone

HISTORY_KEEP = limits.HISTORY_KEEP  # the store trims the history to it

EVENTS = f"{PREFIX}:events"
EVENTS_KEEP = limits.EVENTS_KEEP  # at least this many events are kept (SPEC 5a)
