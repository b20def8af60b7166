"""Limits of the contract, each written once (the store, the API and the engine read them here)."""

# The history keeps the newest revisions (older ones are trimmed at each commit), and a history
# page lists at most as many: ``GET /ha/parameters/history?limit=`` is 1..HISTORY_KEEP.
HISTORY_KEEP = 1000
