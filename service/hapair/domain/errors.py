"""Domain errors: every failure the service can report, independent of HTTP."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One invalid field: a JSON pointer into the request body and a human message."""

    pointer: str
    detail: str


class DomainError(Exception):
    """Base of all domain errors; ``detail`` is the human-readable message."""

    default_detail = "the request could not be processed"

    def __init__(self, detail: str | None = None) -> None:
        """Create the error.

        Args:
            detail: Human-readable message; the class default when omitted.
        """
        self.detail: str = detail if detail is not None else self.default_detail
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    """The request was well-formed but one or more fields are invalid."""

    default_detail = "the request contains invalid fields"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        """Create the error.

        Args:
            errors: One entry per invalid field.
            detail: Human-readable summary.
        """
        self.errors: list[FieldError] = list(errors)
        super().__init__(detail)


class Malformed(DomainError):
    """The body is not valid JSON, or a query value cannot be parsed."""

    default_detail = "the request is malformed"


class NotFound(DomainError):
    """The requested resource does not exist."""

    default_detail = "the requested resource does not exist"


class RevisionMismatch(DomainError):
    """An optimistic-concurrency check failed."""

    def __init__(self, expected: int, current: int) -> None:
        """Create the error.

        Args:
            expected: Revision the client based its change on.
            current: Revision currently stored.
        """
        self.expected = expected
        self.current = current
        super().__init__(
            f"revision mismatch: the request expects revision {expected}, "
            f"the current revision is {current}"
        )


class HADisabled(DomainError):
    """The unit is in non_ha mode, so pair-wide operations are unavailable."""

    default_detail = "HA is disabled on this unit (mode non_ha)"


class UseSharedAddress(DomainError):
    """A pair-wide write reached a unit that must not serve it; use the shared address."""

    def __init__(self, shared_address: str) -> None:
        """Create the error.

        Args:
            shared_address: The pair's shared address (HOST:PORT).
        """
        self.shared_address = shared_address
        super().__init__(f"send pair-wide requests to the shared address {shared_address}")


class NotActive(DomainError):
    """The operation requires the active unit."""

    default_detail = "this unit is not the active unit"


class Pacified(DomainError):
    """The unit is pacified and takes no part in HA."""

    default_detail = "this unit is pacified (it booted too often) and takes no part in HA"


class StoreUnavailable(DomainError):
    """The data store (Redis) cannot be reached."""

    default_detail = "the data store is unavailable"


class NotServing(DomainError):
    """``GET /readyz?role=active`` on a unit that does not serve the shared address."""

    default_detail = "this unit does not serve the shared address"


class PartnerUnavailable(DomainError):
    """The partner unit cannot be reached."""

    default_detail = "the partner unit is unavailable"


class UnsupportedMediaType(DomainError):
    """The request body has an unsupported content type."""

    default_detail = "the request body must be application/json"


class Unauthorized(DomainError):
    """The request carries no valid credentials."""

    default_detail = "authentication is required"


class Forbidden(DomainError):
    """The credentials do not allow the operation."""

    default_detail = "the operation is not allowed with these credentials"


@dataclass(frozen=True)
class Check:
    """One hand-over check of a switchover: its name, whether it passed and why."""

    name: str
    ok: bool
    detail: str


class SwitchoverRefused(DomainError):
    """A planned switchover (or maintenance hand-over) whose checks failed."""

    default_detail = "the switchover checks failed"

    def __init__(self, checks: list[Check], detail: str | None = None) -> None:
        """Create the error.

        Args:
            checks: Every check, passed or not.
            detail: Human-readable summary.
        """
        self.checks: list[Check] = list(checks)
        failed = ", ".join(c.name for c in checks if not c.ok)
        super().__init__(detail or f"the switchover checks failed: {failed}")


class VersionSkew(DomainError):
    """A pair-wide write while the two units run different hapair versions (a rolling upgrade
    under way), or on records a newer hapair stored."""

    def __init__(self, mine: str, theirs: str, detail: str | None = None) -> None:
        """Create the error.

        Args:
            mine: This unit's hapair version.
            theirs: The partner's (or the version that stored the record).
            detail: Human-readable message; names both versions when omitted.
        """
        self.mine = mine
        self.theirs = theirs
        super().__init__(
            detail
            or f"the units run different hapair versions (this unit {mine}, the partner "
            f"{theirs}): pair-wide writes wait until both run the same version; reads, "
            "switchover and maintenance still work"
        )


class NoSharedInterface(DomainError):
    """An action on the virtual IP of a unit started without ``--shared-interface``."""

    default_detail = "this unit was started without --shared-interface: it has no virtual IP"


class PairKeyMismatch(DomainError):
    """A pair-key rotation whose units' next keys differ, or one has none."""

    default_detail = "the units' next pair keys differ"
