"""The link between the two units: signed messages (MAC, nonces, the pair key and its rotation),
the partner client, and what a unit counts of the calls it refuses (SPEC section 6).
"""
