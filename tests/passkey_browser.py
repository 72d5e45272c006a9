"""A virtual passkey authenticator in headless Chromium, for Playwright (sync API) tests.

Chromium's DevTools protocol can attach a software authenticator to a page (the WebAuthn
domain), so navigator.credentials.create() and get() succeed with no device and no
prompt. The one set up here is a platform passkey provider: CTAP2, internal transport,
discoverable credentials, user verification that always succeeds.

The CDP session must stay attached as long as the authenticator is needed: when it is
detached, Chromium removes the authenticators it added ("Could not find a Virtual
Authenticator matching the ID"). Playwright 1.65 does not detach a session that is
garbage collected, but nothing promises that, so each page's session is kept in a
WeakKeyDictionary keyed by the page: alive exactly as long as the page object is.

WebAuthn needs a secure context and an RP id that is the page's host (or a parent
domain): serve the pages on http://localhost:PORT with RP id "localhost". An IP address
such as 127.0.0.1 is a secure context but can never be an RP id, so the ceremony fails
there with a SecurityError.
"""

import weakref

from playwright.sync_api import CDPSession, Page

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,  # no "touch" needed
}
_sessions: "weakref.WeakKeyDictionary[Page, CDPSession]" = weakref.WeakKeyDictionary()


def cdp_session(page: Page) -> CDPSession:
    """The page's CDP session with the WebAuthn domain enabled (made once per page)."""
    session = _sessions.get(page)
    if session is None:
        session = page.context.new_cdp_session(page)
        session.send("WebAuthn.enable")
        _sessions[page] = session
    return session


def add_virtual_authenticator(page: Page, **options) -> str:
    """Attach a virtual passkey authenticator to `page`; its id. `options` override
    AUTHENTICATOR's, e.g. isUserVerified=False for an authenticator that fails UV."""
    session = cdp_session(page)
    answer = session.send("WebAuthn.addVirtualAuthenticator", {"options": {**AUTHENTICATOR, **options}})
    return answer["authenticatorId"]


def credentials(page_or_session: Page | CDPSession, authenticator_id: str) -> list[dict]:
    """The credentials the authenticator holds: each with credentialId, rpId, userHandle
    (base64), privateKey, signCount, isResidentCredential."""
    session = page_or_session if isinstance(page_or_session, CDPSession) else cdp_session(page_or_session)
    return session.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
