"""Going live: a sandbox project's live twin, with a copy of the sandbox's configuration and
none of its data (users, payments and tokens stay behind; the sandbox keeps working).

The twin is a project of its own, with its own project id, client id and secret, so nothing
issued by one is accepted by the other: codes, refresh tokens and access tokens carry their
project and client, and every check compares them.

Going live is refused, with every reason at once, while the sandbox's configuration would be
unsafe in production (`go_live_reasons`). Payments: a sandbox can only hold a development
Xendit key (KEY_PREFIX), and the live twin must never take payments with it. Refusing for
good whenever a sandbox has payments would leave its operator stuck, so the reason goes
away when the production key for the twin is given along (`live_xendit`): the twin starts
with it and takes payments from its first minute. A sandbox without payments needs no key;
the twin can be given one later (`astapa project payments` on the live project).
"""

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.utils import get_topic

from astapa.app.projects import ProjectCommands, new_client_credentials
from astapa.crypto import new_public_id
from astapa.domain.clients import SECRET_METHODS
from astapa.domain.errors import GoLiveRefusedError, ProjectNotFoundError
from astapa.domain.plans import Plan
from astapa.domain.projects import Client, ClientIndex, Project
from astapa.oauth.authorize import check_redirect_uri
from astapa.store.events import Decision

SCAN_BATCH = 1000
NOT_LOOPBACK = "is http off loopback: a live project takes https only (http on loopback, for native apps)"


@dataclass(frozen=True)
class ProjectParts:
    """The ids of the machine clients and plans a project made (project_parts)."""

    client_ids: list[UUID]
    plan_ids: list[UUID]


class GoLiveCommands(ProjectCommands):
    def project_parts(self, project_id: str) -> ProjectParts:
        """What go_live copies, found by reading the log (_created_in): outside the writer,
        so the server's other writes never wait for the scan (a plan or client made between
        this and the save is not copied)."""
        return ProjectParts(self._created_in(project_id, Client), self._created_in(project_id, Plan))

    def go_live_reasons(self, project_id: str, smtp_configured: bool,
                        xendit_key_is_development: bool | None, parts: ProjectParts | None = None) -> list[str]:
        """Why the project may not go live now ([] when it may): see unsafe_in_production."""
        project = self._sandbox(project_id)
        project.check_can_go_live()
        return unsafe_in_production(project, self._machine_clients(project_id, parts), smtp_configured,
                                    xendit_key_is_development)

    def go_live(self, project_id: str, smtp_configured: bool, xendit_key_is_development: bool | None,
                live_xendit: tuple[str, str | None] | None = None, live_project_id: str | None = None,
                by: str = "cli", parts: ProjectParts | None = None) -> Decision:
        """The sandbox's live twin, in one save: the project (copied settings, resources and
        providers), its plans, its machine clients with new ids and secrets, and the link
        between the twins. `live_xendit`: the SHA-256 of the twin's production Xendit key
        and callback token (the caller keeps the key in the twin's 0600 file, and the
        providers' secrets too: astapa/project_files.py, prepare_twin). `live_project_id`:
        the twin's id, when the caller wrote those files first. `parts`: project_parts, read
        before (None: read now). The secrets are shown once, in the value."""
        sandbox = self._sandbox(project_id)
        sandbox.check_can_go_live()
        parts = parts or self.project_parts(project_id)
        clients = self._machine_clients(project_id, parts)
        reasons = unsafe_in_production(sandbox, clients, smtp_configured,
                                       xendit_key_is_development if live_xendit is None else None)
        if reasons:
            raise GoLiveRefusedError(reasons)
        live_project_id = live_project_id or new_public_id("proj")
        decision = self.create_project(
            sandbox.name, sandbox.redirect_uris, "live", sandbox.scopes, project_id=live_project_id,
            require_verified_email=sandbox.require_verified_email, allow_registration=sandbox.allow_registration,
            refresh_reuse_grace=sandbox.refresh_reuse_grace,
            post_logout_redirect_uris=sandbox.post_logout_redirect_uris, sandbox_project_id=project_id)
        live: Project = decision.aggregates[0]
        copy_settings(sandbox, live, live_xendit)
        plans = [copy_plan(plan, live_project_id, by) for plan in self._plans(project_id, parts)]
        copies = [copy_client(client, live_project_id) for client in clients]
        sandbox.go_live(project_id=project_id, live_project_id=live_project_id)
        value = {key: decision.value[key] for key in ("project_id", "client_id", "client_secret", "mode")}
        value.update(sandbox_project_id=project_id, clients=[shown for _, _, shown in copies],
                     plans=[plan.key for plan in plans], resources=sorted(live.resources),
                     providers=sorted(live.providers))
        if live_xendit is not None:
            value["xendit"] = "configured"
        made = [aggregate for client, index, _ in copies for aggregate in (client, index)]
        return Decision([sandbox, *decision.aggregates, *plans, *made], value)

    def _sandbox(self, project_id: str) -> Project:
        return self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))

    def _machine_clients(self, project_id: str, parts: ProjectParts | None) -> list[Client]:
        """The clients the operator made for the project (configuration), not those that
        registered themselves (RFC 7591: data, like users), nor deleted ones."""
        ids = parts.client_ids if parts is not None else self._created_in(project_id, Client)
        clients = [self.load(client_id, lambda: ProjectNotFoundError(project_id)) for client_id in ids]
        return [c for c in clients if not c.registered and not c.deleted]

    def _plans(self, project_id: str, parts: ProjectParts) -> list[Plan]:
        """The plans the project offers now (`free` is every project's, with no event; an
        archived plan is offered no more, and the twin has nobody on it)."""
        plans = [self.load(plan_id, lambda: ProjectNotFoundError(project_id), read_only=True)
                 for plan_id in parts.plan_ids]
        return [plan for plan in plans if not plan.archived]

    def _created_in(self, project_id: str, kind: type) -> list[UUID]:
        """The ids of the `kind` aggregates created in the project, oldest first. No
        aggregate lists a project's clients or plans, and the CLI may run before a read
        model exists, so the log is read by topic: one pass, for a command run once a project."""
        topic, ids, start = get_topic(kind.Created), [], 1
        while True:
            batch = self.recorder.select_notifications(start=start, limit=SCAN_BATCH, topics=[topic])
            ids += [n.originator_id for n in batch if self.mapper.to_domain_event(n).project_id == project_id]
            if len(batch) < SCAN_BATCH:
                return ids
            start = batch[-1].id + 1


def unsafe_in_production(project: Project, clients: list[Client], smtp_configured: bool,
                         xendit_key_is_development: bool | None) -> list[str]:
    """Every reason the sandbox's configuration would be unsafe in production, for the
    operator: each redirect URI (the project's and its clients', post-logout ones too) that
    is http off loopback; payments with a development Xendit key (`xendit_key_is_development`:
    whether the key the twin would inherit is one; None: no payments); no outgoing mail."""
    reasons = [f"{kind} {uri!r} {NOT_LOOPBACK}" for kind, uri in uris_of(project.redirect_uris,
                                                                         project.post_logout_redirect_uris)
               if not live_ready(uri)]
    for client in clients:
        reasons += [f"client {client.client_id} ({client.name}): {kind} {uri!r} {NOT_LOOPBACK}"
                    for kind, uri in uris_of(client.redirect_uris, client.post_logout_redirect_uris)
                    if not live_ready(uri)]
    if xendit_key_is_development:
        reasons.append("payments are configured with a development Xendit key: give the live project its "
                       "production key (xnd_production_...) as it goes live")
    if not smtp_configured:
        reasons.append("the server sends no mail (ASTAPA_SMTP_URL is not set): users of a live project could not "
                       "verify their address or reset their password")
    return reasons


def uris_of(redirect_uris: list[str], post_logout_redirect_uris: list[str]) -> list[tuple[str, str]]:
    return [*(("redirect URI", uri) for uri in redirect_uris),
            *(("post-logout redirect URI", uri) for uri in post_logout_redirect_uris)]


def live_ready(uri: str) -> bool:
    try:
        check_redirect_uri(uri, "live")
    except ValueError:
        return False
    return True


def copy_settings(sandbox: Project, live: Project, live_xendit: tuple[str, str | None] | None) -> None:
    """The sandbox's resources, sign-in providers (the same provider clients: their
    secrets' hashes here, the secrets in the twin's file) and branding, and the twin's own
    Xendit key."""
    live_id = live.project_id
    for uri, scopes in sandbox.resources.items():
        live.add_resource(project_id=live_id, uri=uri, scopes=list(scopes))
    for provider, client_id in sandbox.providers.items():
        live.configure_provider(project_id=live_id, provider=provider, client_id=client_id,
                                client_secret_hash=sandbox.provider_secret_hashes.get(provider, ""))
    if sandbox.display_name or sandbox.logo_url or sandbox.primary_color:
        live.change_branding(project_id=live_id, display_name=sandbox.display_name, logo_url=sandbox.logo_url,
                             primary_color=sandbox.primary_color)
    if sandbox.access_token_ttl is not None:
        live.change_access_token_ttl(project_id=live_id, access_token_ttl=sandbox.access_token_ttl)
    if sandbox.refresh_ttl is not None:
        live.change_refresh_ttl(project_id=live_id, refresh_ttl=sandbox.refresh_ttl)
    if sandbox.pin_sign_in:
        live.change_pin_sign_in(project_id=live_id, pin_sign_in=True)
    if sandbox.two_factor_required or sandbox.two_factor_grace != live.two_factor_grace:
        live.change_two_factor_policy(project_id=live_id, two_factor_required=sandbox.two_factor_required,
                                      two_factor_grace=sandbox.two_factor_grace)
    if sandbox.pin_refresh_ttl != live.pin_refresh_ttl:
        live.change_pin_refresh_ttl(project_id=live_id, pin_refresh_ttl=sandbox.pin_refresh_ttl)
    if live_xendit is not None:
        live.configure_payments(project_id=live_id, secret_key_hash=live_xendit[0],
                                callback_token_hash=live_xendit[1])


def copy_plan(plan: Plan, live_project_id: str, by: str) -> Plan:
    """A new Plan aggregate. Plans are written by the server only (EventStore.OWNED), which
    keeps them in memory; this one did not exist before, so no server holds a copy of it."""
    return Plan(project_id=live_project_id, key=plan.key, name=plan.name, price=plan.price,
                currency=plan.currency, interval=plan.interval, claims=plan.claims, by=by)


def copy_client(client: Client, live_project_id: str) -> tuple[Client, ClientIndex, dict]:
    """The client's definition under a new client id, with a new secret if it has one (shown
    once in the dict, with its sandbox twin's id); its keys (private_key_jwt) are the same."""
    client_id, secret, secret_hash = new_client_credentials()
    with_secret = client.auth_method in SECRET_METHODS
    copy = Client(client_id=client_id, project_id=live_project_id, name=client.name,
                  secret_hash=secret_hash if with_secret else None, scopes=client.scopes,
                  token_ttl=client.token_ttl, auth_method=client.auth_method, jwks=client.jwks,
                  jwks_uri=client.jwks_uri, redirect_uris=client.redirect_uris, grant_types=client.grant_types,
                  post_logout_redirect_uris=client.post_logout_redirect_uris)
    shown = {"client_id": client_id, "name": client.name, "sandbox_client_id": client.client_id}
    if with_secret:
        shown["client_secret"] = secret
    return copy, ClientIndex(client_id=client_id, kind="machine", owner_id=copy.id), shown
