"""What operators type, checked the same way wherever they type it: the CLI's argument
types and the console's forms both call these. Each returns the value as kept, or raises
ValueError with a sentence for the operator (the CLI's argparse names the flag)."""

from urllib.parse import urlsplit

from astapa.domain.projects import MAX_TWO_FACTOR_GRACE
from astapa.domain.refresh import MAX_REFRESH_TTL, MAX_REUSE_GRACE, MIN_REFRESH_TTL
from astapa.oauth.scopes import is_scope_token

MAX_TOKEN_TTL = 86400
MAX_SCOPES = 50


def scope_token(value: str) -> str:
    if not is_scope_token(value):
        raise ValueError(f"invalid scope {value!r}")
    return value


def scope_list(text: str) -> list[str]:
    """Scopes separated by spaces (a form's one field), in order without repeats."""
    scopes = list(dict.fromkeys(scope_token(token) for token in text.split()))
    if len(scopes) > MAX_SCOPES:
        raise ValueError(f"at most {MAX_SCOPES} scopes")
    return scopes


def token_ttl(value: str) -> int:
    try:
        ttl = int(value)
    except ValueError:
        raise ValueError(f"the token lifetime must be whole seconds, got {value!r}") from None
    if not 1 <= ttl <= MAX_TOKEN_TTL:
        raise ValueError(f"the token lifetime must be from 1 to {MAX_TOKEN_TTL} seconds")
    return ttl


def refresh_ttl(value: str) -> int:
    """A refresh token lifetime in seconds (a project's, after a sign-in of some kind)."""
    seconds = int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else -1
    if not MIN_REFRESH_TTL <= seconds <= MAX_REFRESH_TTL:
        raise ValueError(f"the refresh token lifetime must be whole seconds from {MIN_REFRESH_TTL} to"
                         f" {MAX_REFRESH_TTL}, got {value!r}")
    return seconds


def two_factor_grace(value: str) -> int:
    """Seconds a user without a second factor may still sign in without it."""
    seconds = int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else -1
    if not 0 <= seconds <= MAX_TWO_FACTOR_GRACE:
        raise ValueError(f"the two-factor grace must be whole seconds from 0 to {MAX_TWO_FACTOR_GRACE}, got {value!r}")
    return seconds


def reuse_grace(value: str) -> int:
    seconds = int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else -1
    if not 0 <= seconds <= MAX_REUSE_GRACE:
        raise ValueError(f"the refresh reuse grace must be whole seconds from 0 to {MAX_REUSE_GRACE}, got {value!r}")
    return seconds


def jwks_uri(value: str) -> str:
    """https; http only to a loopback host (fetched only with ASTAPA_CIMD_ALLOW_HTTP_LOOPBACK)."""
    from astapa.oauth.authorize import LOOPBACK_HOSTS  # here: the CLI starts without the OAuth modules

    parts = urlsplit(value)
    if not parts.hostname or parts.fragment or not (
            parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)):
        raise ValueError("the JWKS URI must be an https URL")
    return value


def provider_value(value: str) -> str:
    """A client id or secret as a provider's console shows it: printable, no spaces."""
    if not 1 <= len(value) <= 512 or not value.isascii() or not value.isprintable() or " " in value:
        raise ValueError("must be 1 to 512 printable ASCII characters without spaces")
    return value
