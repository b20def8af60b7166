"""The HTTP listeners of a unit and their limits (SPEC section 6), below the engine and the API."""
