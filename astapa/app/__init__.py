"""The eventsourcing Application: every command the service can perform.

Commands live in one module per concern and only decide; core.py saves (see its docstring).
"""

from astapa.app.accounts import LinkRequest, SignedIn
from astapa.app.console import ConsoleCommands
from astapa.app.erasure import ErasureCommands
from astapa.app.golive import GoLiveCommands
from astapa.app.identities import IdentityCommands, LinkOffer, UpstreamAccount
from astapa.app.keys import KeyCommands
from astapa.app.links import LinkCommands
from astapa.app.mail import MailCommands
from astapa.app.payments import PaymentCommands
from astapa.app.pins import PinTry
from astapa.app.self_service import SelfServiceCommands
from astapa.app.projects import DEMO_PROJECT_ID, ProjectCommands, new_client_credentials
from astapa.app.tokens import Lifetimes, UserGrant
from astapa.app.users import KEEP
from astapa.app.webhooks import WebhookCommands
from astapa.domain.codes import AuthorizationCode
from astapa.domain.identities import ExternalSignIn, Identity
from astapa.domain.links import ActionLink
from astapa.domain.mail import Message
from astapa.domain.payments import Payment
from astapa.domain.passkeys import Passkey, PasskeyChallenge
from astapa.domain.pins import PinCredential
from astapa.domain.plans import Plan
from astapa.domain.projects import ClientAssertion, Consent
from astapa.domain.refresh import RefreshFamily
from astapa.domain.sessions import BrowserSession
from astapa.domain.tokens import AccessToken
from astapa.domain.two_factor import TwoFactor
from astapa.domain.users import EmailIndex, User
from astapa.domain.webhooks import Webhook, WebhookFollower
from astapa.store.events import Decision, EventStore


class AstapaApplication(ConsoleCommands, ErasureCommands, IdentityCommands, LinkCommands, SelfServiceCommands,
                        PaymentCommands,
                        MailCommands, WebhookCommands, GoLiveCommands, ProjectCommands, KeyCommands):
    # The library names an application after its class unless told: EventStore's name,
    # which PostgreSQL's tables (astapa_events) and NOTIFY channel are named after.
    name = EventStore.name
    # Busy refresh families and long-lived users load (after a restart) from a snapshot
    # plus at most 99 events.
    snapshotting_intervals = {RefreshFamily: 100, User: 100, WebhookFollower: 100}
    # Written only by the server process (see EventStore.OWNED). Not webhook deliveries nor the
    # follower: each loaded a few times, hundreds a second, they would push hot users out.
    OWNED = (User, EmailIndex, BrowserSession, AuthorizationCode, RefreshFamily, AccessToken,
             ActionLink, Message, Plan, Payment, ExternalSignIn, Identity, Consent, ClientAssertion, PinCredential,
             TwoFactor, Passkey, PasskeyChallenge, Webhook)


__all__ = [
    "AstapaApplication", "Decision", "EventStore", "Lifetimes", "LinkOffer", "LinkRequest", "PinTry", "SignedIn",
    "UpstreamAccount", "UserGrant",
    "DEMO_PROJECT_ID", "KEEP", "new_client_credentials",
]
