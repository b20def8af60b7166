"""The data plane: what the seed's state-sync parameters drive on this unit's host.

``applied`` (pure) says per parameter whether it is applied; ``peers`` (pure) renders HAProxy's
``peers hapair`` section and reads ``show peers``; ``ipvs`` (pure) plans the IPVS sync daemon
and its sysctls. ``haproxy`` and ``kernel`` carry them out (off the engine's loop, bounded by
timeouts) and ``plane`` joins them to the engine.
"""
