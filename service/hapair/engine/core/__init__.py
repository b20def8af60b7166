"""The HA engine's pure core: ``machine.step(state, event) -> (state, actions)`` and its rules. No
I/O, no clock, no asyncio (the import contract in pyproject.toml holds it to that).
"""
