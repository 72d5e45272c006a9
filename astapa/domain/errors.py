"""Domain errors: raised with ids and fields, not prose; they know nothing about HTTP."""


class DomainError(Exception):
    """Base class of every rule the domain refuses."""

    # The position of the events saved with this refusal (a reused code or refresh token
    # revokes its family), so an answer can wait until the read models show them; 0: none.
    recorded_at: int = 0


class ConflictError(DomainError):
    """Another writer changed the same aggregate first, and retrying did not settle it."""


class StoreBusyError(DomainError):
    """The event store stayed locked by another process longer than we wait."""


class ProjectNotFoundError(DomainError):
    """No project has this id."""


class ClientNotFoundError(DomainError):
    """No client has this id, or it was deleted."""


class ClientSecretlessError(DomainError):
    """The client authenticates without a secret (private_key_jwt, or none: a public
    client), so it has no secret to rotate; args: client_id, its method."""


class ProjectClientKeptError(DomainError):
    """The project's own client goes only with its project: it cannot be deleted on its
    own (machine and registered clients can)."""


class KeyRingMissingError(DomainError):
    """The signing key ring has not been created yet."""


class StoreNotDurableError(DomainError):
    """The event store's SQLite would not make commits durable (WAL + synchronous=FULL)."""


class UserDisabledError(DomainError):
    """The account is disabled: no sign-in, no token refresh."""


class UserNotFoundError(DomainError):
    """No user with this sub (or email) in this project."""


class EmailTakenError(DomainError):
    """An account with this normalised email already exists in this project."""


class SessionEndedError(DomainError):
    """The browser session has ended or expired."""


class CodeRejectedError(DomainError):
    """An authorization code that cannot be redeemed; args[0] says why (logged only)."""


class RefreshRejectedError(DomainError):
    """A refresh token that cannot be used; args[0] says why (logged only)."""


class ScopeNotGrantedError(DomainError):
    """A refresh asked for scopes the original grant did not hold."""


class InvalidEmailError(DomainError):
    """Not an email address we can keep and mail."""


class LinkRejectedError(DomainError):
    """A mailed link that cannot be used: unknown, another purpose, used, superseded or
    expired; args[0] says why (logged only)."""


class EmailNotVerifiedError(DomainError):
    """The project signs in only users whose address is verified, and this one is not."""


class MessageNotFoundError(DomainError):
    """No queued message has this id."""


class InvalidClaimsError(DomainError):
    """A claims change the Claims API refuses; args[0] says why, for the caller."""


class PlanNotFoundError(DomainError):
    """The project has no plan with this key."""


class PlanExistsError(DomainError):
    """The project already has a plan with this key."""


class PlanArchivedError(DomainError):
    """The plan is archived: not offered for new assignments or payments (users already on
    it keep it); args project_id and key."""


class PaymentNotFoundError(DomainError):
    """No payment has this id (in this project)."""


class PaymentRefusedError(DomainError):
    """A payment that cannot be made (a free plan, say); args[0] says why, for the caller."""


class ExternalSignInError(DomainError):
    """A provider callback or link offer that cannot be used: unknown, from another browser,
    used or expired; args[0] says why (logged only)."""


class ProviderEmailUnverifiedError(DomainError):
    """The provider does not vouch for the address it gave: no account, no link."""


class ProviderEmailUntrustedError(DomainError):
    """The provider calls the address verified but does not speak for its domain (Google
    for a non-Google, non-Workspace address): it links only to an account that signs in."""


class ClientAssertionReusedError(DomainError):
    """A private_key_jwt assertion whose jti was already used by this client."""


class ResourceMismatchError(DomainError):
    """A token request named another resource than its grant (RFC 8707 §2.2)."""


class ConsentRequiredError(DomainError):
    """A third-party client asked for scopes the user has not granted it."""


class RegistrationClosedError(DomainError):
    """The project does not take dynamic client registrations (RFC 7591)."""


class RedirectUriRefusedError(DomainError):
    """A redirect URI the project's mode does not take (a live project: https, or http on
    loopback only); args[0] says why, for the operator."""


class GoLiveRefusedError(DomainError):
    """The sandbox's configuration would be unsafe in production; args[0]: every reason,
    each for the operator."""

    @property
    def reasons(self) -> list[str]:
        return list(self.args[0])


class AlreadyLiveError(DomainError):
    """Going live again: args project_id and its live twin's project id (the project's own
    id when it is itself live)."""


class ResourceTakenError(DomainError):
    """Another project registered this resource (args: the URI, that project's id)."""


class SettingRefusedError(DomainError):
    """A project setting breaks its rule (args: the setting, why, for the operator)."""


class PinRejectedError(DomainError):
    """A PIN sign-in that cannot go ahead (args[0], for the log: "unknown", "forgotten",
    "project", "user tokens revoked"); the page offers the other ways to sign in."""


class SecondFactorRejectedError(DomainError):
    """A two-factor code or recovery code that does not sign in (args[0], for the log:
    "wrong", "not enabled", "enabled already")."""


class PasskeyRejectedError(DomainError):
    """A passkey that cannot sign in or be registered (args[0], for the log: "unknown",
    "removed", "another project", "sign count did not rise", "challenge used",
    "registered already")."""
