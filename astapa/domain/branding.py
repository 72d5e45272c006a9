"""How a project shows itself on its hosted pages: a display name, a logo and a primary
colour, each optional (the pages' defaults otherwise).

The colour is a button's background with white text on it, and a link's colour on white,
so it must be readable both ways: WCAG 2.x AA asks a contrast ratio of at least 4.5:1 for
text. Contrast is symmetric, so the two are one ratio, white against the colour. The logo
is fetched by people's browsers from its URL: https only, so a sign-in page never loads
anything in the clear.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from astapa.domain.errors import DomainError

MAX_DISPLAY_NAME = 100
MAX_LOGO_URL = 2048
MIN_CONTRAST = 4.5  # WCAG 2.x AA, normal text
WHITE = "#ffffff"
COLOR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Branding:
    """What the hosted pages and mails show of a project ("" for each default)."""

    display_name: str = ""
    logo_url: str = ""
    primary_color: str = ""

    @property
    def logo_origin(self) -> str:
        """Where the logo comes from, for the pages' Content-Security-Policy (built from a
        host name https_url checked, so nothing else can reach the header)."""
        if not https_url(self.logo_url):
            return ""
        parts = urlsplit(self.logo_url)
        return f"https://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


class BrandingRefusedError(DomainError):
    """args: the field refused (display_name, logo_url, primary_color) and why, for the operator."""


def branding_errors(display_name: str, logo_url: str, primary_color: str) -> dict[str, str]:
    """Why each field is refused ({} when none is); an empty field is the default."""
    errors: dict[str, str] = {}
    if len(display_name) > MAX_DISPLAY_NAME or not display_name.isprintable():
        errors["display_name"] = f"The display name must be at most {MAX_DISPLAY_NAME} printable characters."
    if logo_url and not https_url(logo_url):
        errors["logo_url"] = "The logo URL must be an https URL (at most 2048 characters, no spaces or quotes)."
    if primary_color:
        if not COLOR.fullmatch(primary_color):
            errors["primary_color"] = "The primary colour must be #RRGGBB, for example #2456d6."
        elif contrast_ratio(primary_color, WHITE) < MIN_CONTRAST:
            errors["primary_color"] = (f"{primary_color} against white has a contrast ratio of "
                                       f"{contrast_ratio(primary_color, WHITE):.2f}:1; white text on it and it on"
                                       f" white need at least {MIN_CONTRAST}:1 (WCAG AA). Choose a darker colour.")
    return errors


def check_branding(display_name: str, logo_url: str, primary_color: str) -> None:
    """BrandingRefusedError(field, reason) for the first field refused."""
    for field, reason in branding_errors(display_name, logo_url, primary_color).items():
        raise BrandingRefusedError(field, reason)


HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def https_url(value: str) -> bool:
    """An https URL with a plain host name (letters, digits, dots and hyphens: an IDN in
    its punycode form) and no user information, quotes, spaces or angle brackets."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return False
    return (len(value) <= MAX_LOGO_URL and parts.scheme == "https" and bool(parts.hostname)
            and HOST.fullmatch(parts.hostname) is not None and "@" not in parts.netloc
            and not any(c in value for c in " \"'<>\\;,") and value.isprintable())


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.x contrast ratio of two #RRGGBB colours, 1 to 21."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def relative_luminance(color: str) -> float:
    """WCAG 2.x relative luminance of a #RRGGBB colour (sRGB)."""
    red, green, blue = (_linear(int(color[i:i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
