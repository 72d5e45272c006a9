"""The one error map: what each refusal becomes on each surface.

OAuth endpoints answer the RFC 6749 error object; the management API answers in the same
shape with its own statuses; pages show a friendly message. For a domain refusal the most
specific class listed in a table wins. Forms that show a refusal next to its field (email
taken, password too weak) handle those where the form is rendered.
"""

from dataclasses import dataclass
from typing import Callable

from eventsourcing.persistence import PersistenceError

from astapa.domain.errors import (
    AlreadyLiveError,
    ClientAssertionReusedError,
    ClientNotFoundError,
    ClientSecretlessError,
    CodeRejectedError,
    ConflictError,
    DomainError,
    GoLiveRefusedError,
    InvalidClaimsError,
    PaymentRefusedError,
    PlanArchivedError,
    PlanExistsError,
    PlanNotFoundError,
    ProjectClientKeptError,
    RedirectUriRefusedError,
    ResourceTakenError,
    SettingRefusedError,
    RefreshRejectedError,
    ResourceMismatchError,
    ScopeNotGrantedError,
    StoreBusyError,
    UserDisabledError,
    UserNotFoundError,
)
from astapa.oauth.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRedirectUriError,
    InvalidRequestError,
    InvalidScopeError,
    InvalidTargetError,
    NotFoundError,
    OAuthError,
    ResourceConflictError,
    TemporarilyUnavailableError,
)
from astapa.passwords import PasswordsBusyError

Answers = dict[type[DomainError], Callable[[DomainError], OAuthError]]

OAUTH_ANSWERS: Answers = {
    StoreBusyError: lambda e: TemporarilyUnavailableError(detail=repr(e)),
    ConflictError: lambda e: TemporarilyUnavailableError(detail=repr(e)),
    CodeRejectedError: lambda e: InvalidGrantError(detail=repr(e)),
    RefreshRejectedError: lambda e: InvalidGrantError(detail=repr(e)),
    UserDisabledError: lambda e: InvalidGrantError(detail=repr(e)),
    UserNotFoundError: lambda e: InvalidGrantError(detail=repr(e)),
    ScopeNotGrantedError: lambda e: InvalidScopeError(detail=repr(e)),
    ResourceMismatchError: lambda e: InvalidTargetError("resource differs from the one the grant was issued for",
                                                        detail=repr(e)),
    ClientAssertionReusedError: lambda e: InvalidClientError("client assertion was already used", detail=repr(e)),
    DomainError: lambda e: InvalidRequestError("request cannot be performed", detail=repr(e)),
}

# The management API: a user, plan or client named in the body or path, claims, payments.
API_ANSWERS: Answers = {
    **OAUTH_ANSWERS,
    UserNotFoundError: lambda e: NotFoundError("no such user"),
    PlanNotFoundError: lambda e: InvalidRequestError("plan must be the key of one of the project's plans"),
    PlanExistsError: lambda e: ResourceConflictError("the project already has a plan with this key"),
    PlanArchivedError: lambda e: InvalidRequestError(f"the plan {e.args[1]!r} is archived: it is no longer offered"),
    InvalidClaimsError: lambda e: InvalidRequestError(e.args[0]),
    PaymentRefusedError: lambda e: InvalidRequestError(e.args[0]),
    ClientNotFoundError: lambda e: NotFoundError("no such client"),
    ClientSecretlessError: lambda e: ResourceConflictError("the client authenticates without a secret: it has"
                                                           " none to rotate"),
    ProjectClientKeptError: lambda e: InvalidRequestError("a project's own client cannot be deleted"),
    RedirectUriRefusedError: lambda e: InvalidRedirectUriError(e.args[0]),
    GoLiveRefusedError: lambda e: ResourceConflictError("cannot go live: " + "; ".join(e.reasons)),
    AlreadyLiveError: lambda e: ResourceConflictError(already_live(e)),
    ResourceTakenError: lambda e: ResourceConflictError("another project registered this resource"),
    SettingRefusedError: lambda e: InvalidRequestError(e.args[1]),
}

# The management API where the plan is the resource the URL names (PATCH /plans/{key}).
PLAN_ANSWERS: Answers = {
    **API_ANSWERS,
    PlanNotFoundError: lambda e: NotFoundError("no such plan"),
    PlanExistsError: lambda e: ResourceConflictError("free is built in and cannot be changed"),
}


def already_live(error: DomainError) -> str:
    """AlreadyLiveError for the operator: which project is live."""
    project_id, live_project_id = error.args
    if project_id == live_project_id:
        return f"project {project_id} is live already"
    return f"project {project_id} went live already: its live project is {live_project_id}"


def from_domain(error: DomainError, answers: Answers = OAUTH_ANSWERS) -> OAuthError:
    """The answer to a domain refusal on a surface (OAUTH_ANSWERS, API_ANSWERS, ...)."""
    for kind in type(error).__mro__:
        if kind in answers:
            return answers[kind](error)
    raise TypeError(f"not a domain error: {error!r}")


@dataclass(frozen=True)
class PageAnswer:
    title: str
    text: str
    status: int


def page_answer(error: Exception) -> PageAnswer:
    """What a hosted page shows for a refusal no form handled (the detail goes to the log)."""
    if isinstance(error, OAuthError):
        return PageAnswer("This sign-in link is not valid",
                          f"{error.description[:1].upper()}{error.description[1:]}. Go back to the "
                          "application and try again.", error.status)
    if isinstance(error, (DomainError, PersistenceError)):
        return PageAnswer("Please try again", "We could not complete that just now. Please try again.", 503)
    if isinstance(error, PasswordsBusyError):
        return PageAnswer("Too many requests just now", "We are checking many passwords at the moment. "
                          "Go back and try again in a few seconds.", 429)
    return PageAnswer("Something went wrong", "Something went wrong on our side. Please try again.", 500)
