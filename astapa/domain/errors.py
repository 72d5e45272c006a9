"""Domain errors: raised with ids and fields, not prose; they know nothing about HTTP."""


class DomainError(Exception):
    """Base class of every rule the domain refuses."""


class ConflictError(DomainError):
    """Another writer changed the same aggregate first, and retrying did not settle it."""


class StoreBusyError(DomainError):
    """The event store stayed locked by another process longer than we wait."""


class ProjectNotFoundError(DomainError):
    """No project has this id."""


class KeyRingMissingError(DomainError):
    """The signing key ring has not been created yet."""


class StoreNotDurableError(DomainError):
    """The event store's SQLite would not make commits durable (WAL + synchronous=FULL)."""
