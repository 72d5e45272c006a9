"""End users of a project and the index that keeps their email addresses unique."""

import json
import re
import unicodedata
from types import MappingProxyType
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import (
    EmailNotVerifiedError,
    InvalidClaimsError,
    InvalidEmailError,
    LinkRejectedError,
    UserDisabledError,
)
from astapa.domain.ids import index_id
from astapa.domain.links import CHANGE_EMAIL
from astapa.domain.plans import FREE

DEFAULT_CLAIMS = {"plan": FREE}

# Names a custom claim may not take: registered JWT and OIDC claims, and our own, which a
# reader of `custom_claims` could mistake for the token's (RFC 7519 §4.1, OIDC Core §5.1).
RESERVED_CLAIMS = frozenset({
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "typ", "cty", "scope", "scp", "client_id",
    "azp", "sid", "nonce", "auth_time", "acr", "amr", "at_hash", "c_hash", "cnf", "act", "may_act",
    "events", "project_id", "custom_claims", "email", "email_verified", "name", "given_name",
    "family_name", "middle_name", "nickname", "preferred_username", "profile", "picture", "website",
    "gender", "birthdate", "zoneinfo", "locale", "phone_number", "phone_number_verified", "address",
    "updated_at", "roles", "groups", "entitlements",
})
CLAIM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")
MAX_CLAIMS = 50
MAX_CLAIMS_BYTES = 8192
# How deep a claim's value may nest objects and arrays ({"a": [1]} is 2 deep): deep enough
# for any real use, and far from the recursion limits of everything that copies, encodes or
# validates claims.
MAX_CLAIM_DEPTH = 8


class User(Aggregate):
    """One account of one project; `sub` is a decimal string of a positive integer < 2^53."""

    # The newest mailed link of each purpose (purpose -> link key). Replaced, never changed
    # in place, so this read-only class-level default also serves snapshots taken before
    # it existed. (Not annotated: annotated attributes become dataclass fields.)
    links = MappingProxyType({})
    # Erased (User.Erased): their personal data is unreadable, and they can never sign in
    # again. Class-level default, like `links`, for snapshots taken before it existed.
    erased = False
    # The claims that came with the current plan, and when the plan ends (None: never).
    # Class-level defaults, like `links`, for snapshots taken before they existed.
    plan_claims = MappingProxyType({})
    plan_expires_at = None

    @event("Registered")
    def __init__(self, project_id: str, sub: str, email: str, password_hash: str | None) -> None:
        """`password_hash` is None for an account made by Google or GitHub sign-in."""
        self.project_id = project_id
        self.sub = sub
        self.email = email
        self.password_hash = password_hash
        self.email_verified = False
        self.disabled = False
        self.custom_claims = dict(DEFAULT_CLAIMS)
        # Refresh families and sessions started in an earlier epoch are dead: revoking all
        # of a user's tokens (revoke API, password reset, disable) starts a new epoch.
        self.tokens_epoch = 0

    @staticmethod
    def create_id(project_id: str, sub: str) -> UUID:
        return index_id("user", f"{project_id}/{sub}")

    def check_can_sign_in(self) -> None:
        if self.disabled or self.erased:
            raise UserDisabledError(self.project_id, self.sub)

    @event("TokensRevoked")
    def revoke_tokens(self, reason: str) -> None:
        """Every refresh token and browser session the user has stops working, and so does
        a change of address still waiting for its link (whoever asked may have been the
        one signed out)."""
        self.tokens_epoch += 1
        if CHANGE_EMAIL in self.links:
            self.links = {k: v for k, v in self.links.items() if k != CHANGE_EMAIL}

    @event("LinkIssued")
    def issue_link(self, purpose: str, link_key: str) -> None:
        """A new link of this purpose; any older one of the same purpose is dead."""
        self.links = {**self.links, purpose: link_key}

    def check_current_link(self, purpose: str, link_key: str) -> None:
        if self.links.get(purpose) != link_key:
            raise LinkRejectedError("superseded")

    @event("EmailVerified")
    def verify_email(self, email: str) -> None:
        """`email` is the address the link was mailed to (it must still be the user's)."""
        self.email_verified = True

    def check_verified(self) -> None:
        if not self.email_verified:
            raise EmailNotVerifiedError(self.project_id, self.sub)

    @event("IdentityLinked")
    def link_identity(self, provider: str, subject: str, email: str, how: str) -> None:
        """A Google or GitHub account now signs in as this user. `how`: "registered" (the
        account was made from it), "verified_email" (both sides had the address verified),
        or "signed_in" (the user signed in here to accept the link). The Identity index
        aggregate is what signs it in; the user keeps no state of it."""

    @event("EmailChanged")
    def change_email(self, email: str, previous: str) -> None:
        """The user proved the new address (a link mailed to it): it is theirs, verified.
        Every link mailed before (to the old address, maybe) stops working."""
        self.email = email
        self.email_verified = True
        self.links = MappingProxyType({})

    @event("PasswordChanged")
    def change_password(self, password_hash: str, reason: str) -> None:
        self.password_hash = password_hash

    def check_claims(self, changed: dict, removed: list[str]) -> None:
        """Names, and the size of the result: a token stays small. Raises InvalidClaimsError."""
        check_custom_claims({k: v for k, v in self.custom_claims.items() if k not in removed} | changed,
                            names=[*changed, *removed])

    @event("ClaimsChanged")
    def change_claims(self, changed: dict, removed: list[str], by: str) -> None:
        """Custom claims set (`changed`) and removed; `plan` changes only by assign_plan."""
        claims = {k: v for k, v in self.custom_claims.items() if k not in removed}
        claims.update(changed)
        self.custom_claims = claims

    @event("PlanAssigned")
    def assign_plan(self, plan: str, plan_claims: dict, expires_at: float | None, by: str) -> None:
        """The plan's claims are copied as they are now: a later change to the plan's
        claims changes nothing for users already on it."""
        self.custom_claims = {**self.custom_claims, "plan": plan}
        self.plan_claims = dict(plan_claims)
        self.plan_expires_at = expires_at

    @event("PlanExpired")
    def expire_plan(self, plan: str) -> None:
        """The plan's end passed: back on free."""
        self.custom_claims = {**self.custom_claims, "plan": FREE}
        self.plan_claims = {}
        self.plan_expires_at = None

    def plan_has_expired(self, now: float) -> bool:
        return self.plan_expires_at is not None and now >= self.plan_expires_at

    @event("Disabled")
    def disable(self, by: str) -> None:
        self.disabled = True

    @event("Enabled")
    def enable(self, by: str) -> None:
        self.disabled = False

    @event("Erased")
    def erase(self, project_id: str, sub: str, by: str, messages: list[str] | None = None,
              email: str | None = None) -> None:
        """The person asked to be forgotten: their key is deleted after this is saved
        (astapa/app/erasure.py), so their personal fields in every event read as erased.
        They can never sign in again; their address was released in the same save. Holds
        no personal data itself: it must stay readable to say what happened, and names
        the user in full for the read models, which drop their rows. `messages`: the ids
        (hex) of mail queued for them, whose copies each server deletes from its outbox.
        `email`: their address as they are erased (sealed, as their other events' are),
        which the shared throttle log forgets just before their key goes: so even a retry
        after a crash knows it, while no read model does any more."""
        self.erased = True
        self.disabled = True
        self.links = {}  # every link mailed to them is dead

    def effective_claims(self, now: float) -> dict:
        """Custom claims as a token carries them at `now`: the plan's claims under the
        user's own, and `free` once the plan's end has passed, even before the event that
        records it (the scheduler may be late)."""
        if self.plan_has_expired(now):
            return {**self.custom_claims, "plan": FREE}
        return {**self.plan_claims, **self.custom_claims}

    def claims(self, now: float) -> dict:
        """The identity claims a token carries, as they are now."""
        return {
            "email": self.email,
            "email_verified": self.email_verified,
            "custom_claims": self.effective_claims(now),
        }


class EmailIndex(Aggregate):
    """One per (project, normalised email): a second registration collides on its version.
    An address its user left (a change of email) is released, and may be claimed again."""

    released = False  # class-level default: indexes made before addresses could change

    @event("Released")
    def release(self, reason: str) -> None:
        self.released = True

    @event("Claimed")
    def claim(self, project_id: str, email_key: str, sub: str) -> None:
        """A released address, taken by `sub` (named in full, for the read models)."""
        self.sub = sub
        self.released = False

    @event("Registered")
    def __init__(self, project_id: str, email_key: str, sub: str) -> None:
        self.project_id = project_id
        self.sub = sub

    @staticmethod
    def create_id(project_id: str, email_key: str) -> UUID:
        return index_id("email", f"{project_id}/{email_key}")


def normalise_email(value: str) -> tuple[str, str]:
    """(address as kept and mailed, key for uniqueness and lookup), normalised once.

    Unicode NFC; the domain lower-cased and IDNA-encoded (non-ASCII domains become
    punycode); the key also case-folds the local part. `mıke@` (dotless ı) stays distinct
    from `mike@` (C-88). Raises InvalidEmailError.
    """
    email = unicodedata.normalize("NFC", value.strip())
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or len(email) > 254 or "@" in local \
            or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in email):
        raise InvalidEmailError()
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidEmailError() from None
    if "." not in domain.strip(".") or domain.startswith(".") or ".." in domain:
        raise InvalidEmailError()
    return f"{local}@{domain}", f"{local.casefold()}@{domain}"


def check_custom_claims(claims: dict, names: list[str] | None = None) -> None:
    """Custom claims a user or a plan may hold: `names` (default all) not registered claim
    names and well formed, their values nested at most MAX_CLAIM_DEPTH deep; at most
    MAX_CLAIMS, MAX_CLAIMS_BYTES of JSON. Raises InvalidClaimsError with the reason, for the
    caller."""
    for name in claims if names is None else names:
        if name.lower() in RESERVED_CLAIMS:
            raise InvalidClaimsError(f"{name!r} is a registered claim name and cannot be a custom claim")
        if not CLAIM_NAME.fullmatch(name) or name == "plan":
            raise InvalidClaimsError(f"{name[:80]!r} is not a custom claim name (a letter, then up to "
                                     "63 letters, digits, '_', '.', ':' or '-')")
        if name in claims and nesting_exceeds(claims[name], MAX_CLAIM_DEPTH):
            raise InvalidClaimsError(f"custom claims nest objects and arrays at most {MAX_CLAIM_DEPTH} deep")
    if len(claims) > MAX_CLAIMS:
        raise InvalidClaimsError(f"at most {MAX_CLAIMS} custom claims")
    if len(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_CLAIMS_BYTES:
        raise InvalidClaimsError(f"custom claims take at most {MAX_CLAIMS_BYTES} bytes of JSON")


def nesting_exceeds(value: object, limit: int) -> bool:
    """Whether `value` nests objects (dicts) and arrays (lists) more than `limit` deep.
    Walked without recursion, so any depth is measured safely."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth == limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
