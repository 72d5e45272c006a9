"""The eventsourcing Application: every command the service can perform.

Commands live in one module per concern and only decide; core.py saves (see its docstring).
"""

from astapa.app.accounts import AccountCommands, SignedIn
from astapa.app.core import Decision, EventStore
from astapa.app.keys import KeyCommands
from astapa.app.projects import DEMO_PROJECT_ID, ProjectCommands, new_client_credentials
from astapa.app.tokens import Lifetimes, UserGrant, split_refresh_token
from astapa.domain.refresh import RefreshFamily
from astapa.domain.users import User


class AstapaApplication(AccountCommands, ProjectCommands, KeyCommands):
    # Busy refresh families and long-lived users load from a snapshot plus a few events.
    snapshotting_intervals = {RefreshFamily: 50, User: 50}


__all__ = [
    "AstapaApplication", "Decision", "EventStore", "Lifetimes", "SignedIn", "UserGrant",
    "DEMO_PROJECT_ID", "new_client_credentials", "split_refresh_token",
]
