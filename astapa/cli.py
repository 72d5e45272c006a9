"""The `astapa` command: serve, project, client, keys. Thin: parse, call, print one JSON object.

Bad input or configuration prints one line on stderr and exits 2.
"""

import argparse
import contextlib
import json
import logging
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any, Callable

from eventsourcing.persistence import PersistenceError

from astapa import __version__, inputs
from astapa.config import (
    SECRET_KEY_LENGTH,
    ConfigError,
    env_default,
    load_settings,
    parse_smtp_setting,
    parse_store,
    prepare_data_dir,
)
from astapa.domain.console import AdminNotFoundError
from astapa.domain.errors import (
    AlreadyLiveError,
    ClientNotFoundError,
    ClientSecretlessError,
    DomainError,
    GoLiveRefusedError,
    ProjectClientKeptError,
    ProjectNotFoundError,
    RedirectUriRefusedError,
    ResourceTakenError,
    SettingRefusedError,
    StoreBusyError,
    StoreNotDurableError,
    UserNotFoundError,
)
from astapa.domain.identities import PROVIDERS
from astapa.store.backends import SecretKeyError
from astapa.store.person_keys import PersonKeysUnavailable
from astapa.store.sealing import LogNotSealedError
from astapa.domain.refresh import DEFAULT_REUSE_GRACE


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise ConfigError(message)


def argument(check: Callable[[str], Any], value: str) -> Any:
    """A check of astapa/inputs.py (the console's forms use the same) as an argparse type."""
    try:
        return check(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def scope_value(value: str) -> str:
    return argument(inputs.scope_token, value)


def provider_value(value: str) -> str:
    return argument(inputs.provider_value, value)


def token_ttl(value: str) -> int:
    return argument(inputs.token_ttl, value)


def reuse_grace(value: str) -> int:
    return argument(inputs.reuse_grace, value)


def refresh_ttl(value: str) -> int:
    return argument(inputs.refresh_ttl, value)


def two_factor_grace(value: str) -> int:
    return argument(inputs.two_factor_grace, value)


def redirect_uri(value: str) -> str:
    """What any project takes (a sandbox's rule: http on any host); the command then checks
    the URI against its project's mode (RedirectUriRefusedError)."""
    from astapa.oauth.authorize import check_redirect_uri

    try:
        return check_redirect_uri(value, "sandbox")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def user_sub(value: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{0,15}", value):
        raise argparse.ArgumentTypeError("a user's sub is a positive whole number (at most 16 digits)")
    return value


def jwks_uri(value: str) -> str:
    return argument(inputs.jwks_uri, value)


def jwk_file(value: str) -> dict:
    from astapa.oauth.client_keys import load_key_file

    try:
        return load_key_file(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def resource_uri(value: str) -> str:
    from astapa.oauth.resources import check_resource_uri

    try:
        return check_resource_uri(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> Parser:
    parser = Parser(prog="astapa", description="Self-hostable, event-sourced authentication backend")
    parser.add_argument("--version", action="version", version=f"astapa {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def with_data_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--data-dir", help="data directory (ASTAPA_DATA_DIR, default ./var)")
        p.add_argument("--store", dest="store_url", help="a PostgreSQL store shared by several servers (ASTAPA_STORE_URL:"
                       " postgresql://user:password@host:port/dbname; secrets sealed with ASTAPA_SECRET_KEY);"
                       " default: SQLite under the data dir")
        return p

    serve = with_data_dir(commands.add_parser("serve", help="run the service"))
    serve.add_argument("--host", help="interface (ASTAPA_HOST, default 127.0.0.1)")
    serve.add_argument("--port", help="port (ASTAPA_PORT, default 8080)")
    serve.add_argument("--issuer", help="issuer URL (ASTAPA_ISSUER, default http://HOST:PORT)")
    serve.add_argument("--demo", action="store_true",
                       help="create (once) a demo project and serve its pages under /demo")
    serve.add_argument("--bcrypt-cost", help="bcrypt work factor (ASTAPA_BCRYPT_COST, default 12)")
    serve.add_argument("--console-signup", choices=("invite", "open"),
                       help="who may use the console at /dashboard (ASTAPA_CONSOLE_SIGNUP): invite (default: "
                       "instance admins and invited members) or open (anyone who signs up, with projects of "
                       "their own)")
    serve.add_argument("--workers", help="server processes on the one port and data dir (ASTAPA_WORKERS,"
                       " default 1)")

    project = commands.add_parser("project", help="manage projects")
    project_commands = project.add_subparsers(dest="action", required=True, parser_class=Parser)
    create = with_data_dir(project_commands.add_parser("create", help="create a project"))
    create.add_argument("--name", required=True)
    create.add_argument("--redirect-uri", action="append", required=True, type=redirect_uri)
    create.add_argument("--live", action="store_true", help="live mode (default sandbox)")
    create.add_argument("--scope", action="append", default=[], type=scope_value)
    create.add_argument("--require-verified-email", action="store_true",
                        help="sign-in waits until the user's email address is verified")
    create.add_argument("--allow-registration", action="store_true",
                        help="the project's authorization server takes RFC 7591 registrations")
    create.add_argument("--post-logout-redirect-uri", action="append", default=[], type=redirect_uri,
                        help="where RP-initiated logout may send the browser back (repeatable; exact match)")
    create.add_argument("--refresh-reuse-grace", type=reuse_grace, default=DEFAULT_REUSE_GRACE,
                        metavar="SECONDS", help="how long after a rotation the previous refresh token may "
                        f"come back once, for a lost response (default {DEFAULT_REUSE_GRACE}; 0: never)")
    with_data_dir(project_commands.add_parser("list", help="list the projects"))
    show = with_data_dir(project_commands.add_parser("show", help="show a project's settings"))
    show.add_argument("--project", required=True)
    update = with_data_dir(project_commands.add_parser("update", help="change a project's settings"))
    update.add_argument("--project", required=True)
    update.add_argument("--name", help="the project's new name (sign-in pages show it)")
    update.add_argument("--redirect-uri", action="append", type=redirect_uri,
                        help="where the project's own client may be sent back with a code (repeatable; "
                        "replaces the URIs registered before)")
    update.add_argument("--require-verified-email", action=argparse.BooleanOptionalAction,
                        help="sign-in waits (or not) until the address is verified")
    update.add_argument("--allow-registration", action=argparse.BooleanOptionalAction,
                        help="the project's authorization server takes (or not) RFC 7591 registrations")
    update.add_argument("--post-logout-redirect-uri", action="append", type=redirect_uri,
                        help="where RP-initiated logout may send the browser back (repeatable; replaces "
                        "the URIs registered before)")
    update.add_argument("--refresh-reuse-grace", type=reuse_grace, metavar="SECONDS",
                        help="how long after a rotation the previous refresh token may come back once "
                        "(0: never)")
    update.add_argument("--scope", action="append", type=scope_value,
                        help="a scope the project grants its own client (repeatable; replaces the scopes before)")
    update.add_argument("--token-ttl", type=token_ttl, metavar="SECONDS",
                        help="how long the access tokens of the project's own client live (1 to 86400 seconds)")
    update.add_argument("--refresh-ttl", type=refresh_ttl, metavar="SECONDS",
                        help="how long refresh tokens from a password, magic link or social sign-in live")
    update.add_argument("--pin-sign-in", action=argparse.BooleanOptionalAction,
                        help="people may (or may not) set a PIN for a browser and sign in there with it")
    update.add_argument("--pin-refresh-ttl", type=refresh_ttl, metavar="SECONDS",
                        help="how long refresh tokens from a PIN sign-in live (default 30 days)")
    update.add_argument("--require-two-factor", action=argparse.BooleanOptionalAction,
                        help="every user signs in with a second factor (or not); those without one set it up "
                        "at sign-in once their grace is over")
    update.add_argument("--two-factor-grace", type=two_factor_grace, metavar="SECONDS",
                        help="how long a user without a second factor may still sign in without it, from when "
                        "it became required or their sign-up (default 7 days)")

    live = with_data_dir(project_commands.add_parser(
        "go-live", help="create the sandbox project's live twin (its configuration, none of its data)"))
    live.add_argument("--project", required=True, help="the sandbox project")
    live.add_argument("--xendit-secret-key", help="the live project's production Xendit key "
                      "(xnd_production_...): needed when the sandbox takes payments")
    live.add_argument("--xendit-callback-token", help="with --xendit-secret-key: the live project's webhook token")

    payments = with_data_dir(project_commands.add_parser(
        "payments", help="the project's own Xendit key and webhook token (secrets kept in DATA_DIR/keys)"))
    payments.add_argument("--project", required=True)
    payments.add_argument("--xendit-secret-key", required=True)
    payments.add_argument("--xendit-callback-token")
    providers = with_data_dir(project_commands.add_parser(
        "providers", help="Google and GitHub sign-in for the project (secrets kept in DATA_DIR/keys)"))
    providers.add_argument("--project", required=True)
    for name in PROVIDERS:
        providers.add_argument(f"--{name}-client-id", type=provider_value)
        providers.add_argument(f"--{name}-client-secret", type=provider_value)
    providers.add_argument("--remove", action="append", default=[], choices=PROVIDERS,
                           help="turn a provider off (repeatable)")

    client = commands.add_parser("client", help="manage machine clients")
    client_commands = client.add_subparsers(dest="action", required=True, parser_class=Parser)
    client_create = with_data_dir(client_commands.add_parser("create", help="create a machine client"))
    client_create.add_argument("--project", required=True)
    client_create.add_argument("--name", required=True)
    client_create.add_argument("--scope", action="append", default=[], type=scope_value)
    client_create.add_argument("--token-ttl", type=token_ttl, default=None)
    client_create.add_argument("--redirect-uri", action="append", default=[], type=redirect_uri,
                               help="a client of the code flow (with refresh) rather than client_credentials")
    client_create.add_argument("--post-logout-redirect-uri", action="append", default=[], type=redirect_uri,
                               help="with --redirect-uri: where RP-initiated logout may send the browser back")
    client_keys = client_create.add_mutually_exclusive_group()
    client_keys.add_argument("--public", action="store_true",
                             help="no secret: a native or browser app (PKCE required; needs --redirect-uri)")
    client_keys.add_argument("--jwks-uri", type=jwks_uri,
                             help="private_key_jwt: where the client publishes its public keys (https)")
    client_keys.add_argument("--jwk-file", type=jwk_file,
                             help="private_key_jwt: a file holding the client's public JWK or JWK Set")

    client_list = with_data_dir(client_commands.add_parser("list", help="list a project's clients"))
    client_list.add_argument("--project", required=True)
    rotate = with_data_dir(client_commands.add_parser(
        "rotate-secret", help="give a client a new secret (printed once)"))
    rotate.add_argument("--client", required=True, help="the client_id (a project's own client too)")
    rotate.add_argument("--revoke-old", action="store_true",
                        help="the old secret stops working at once (default: it works 24 more hours)")
    client_delete = with_data_dir(client_commands.add_parser(
        "delete", help="delete a machine or registered client"))
    client_delete.add_argument("--client", required=True)

    resource = commands.add_parser("resource", help="manage protected resources (RFC 8707)")
    resource_commands = resource.add_subparsers(dest="action", required=True, parser_class=Parser)
    resource_add = with_data_dir(resource_commands.add_parser(
        "add", help="register a resource (an API, an MCP server) tokens may be issued for"))
    resource_add.add_argument("--project", required=True)
    resource_add.add_argument("--uri", required=True, type=resource_uri)
    resource_add.add_argument("--scope", action="append", default=[], type=scope_value)

    console = commands.add_parser("console", help="the web console at /dashboard")
    console_commands = console.add_subparsers(dest="action", required=True, parser_class=Parser)
    add_admin = with_data_dir(console_commands.add_parser(
        "add-admin", help="make EMAIL an instance admin and print a setup link (single use, 24 hours)"))
    add_admin.add_argument("--email", required=True)
    add_admin.add_argument("--issuer", help="the server's issuer URL, for the link (ASTAPA_ISSUER; default: the "
                           "issuer the server last ran with)")
    remove_admin = with_data_dir(console_commands.add_parser(
        "remove-admin", help="EMAIL is no longer an instance admin (their console account and memberships stay)"))
    remove_admin.add_argument("--email", required=True)

    keys = commands.add_parser("keys", help="manage signing keys")
    keys_commands = keys.add_subparsers(dest="action", required=True, parser_class=Parser)
    with_data_dir(keys_commands.add_parser("rotate", help="make the published next key current"))

    audit = commands.add_parser("audit", help="prove the event log unaltered (its hash chain)")
    audit_commands = audit.add_subparsers(dest="action", required=True, parser_class=Parser)
    verify = with_data_dir(audit_commands.add_parser(
        "verify", help="check every event against the hash chain: exit 0 with the count and head, exit 1 naming"
        " the first position changed, removed or inserted"))
    verify.add_argument("--since", metavar="CHECKPOINT", help="a checkpoint from `audit checkpoint` (the token,"
                        " or a file holding it): also prove the log up to its position is the one it signed")
    with_data_dir(audit_commands.add_parser(
        "checkpoint", help="verify the log, then print its head signed with the service's signing key (keep it"
        " outside the store)"))

    user = commands.add_parser("user", help="a project's users")
    user_commands = user.add_subparsers(dest="action", required=True, parser_class=Parser)
    erase = with_data_dir(user_commands.add_parser(
        "erase", help="erase a person: their personal data becomes unreadable everywhere (their key is deleted),"
        " their tokens die, their email can sign up again (see docs/guides/erasure.md)"))
    erase.add_argument("--project", required=True)
    erase.add_argument("--sub", required=True, type=user_sub)

    event_log = commands.add_parser("log", help="the event log itself")
    log_commands = event_log.add_subparsers(dest="action", required=True, parser_class=Parser)
    with_data_dir(log_commands.add_parser(
        "encrypt-personal-data", help="seal the personal data of events written before it was sealed, in place"
        " (one transaction; servers stopped; idempotent; see docs/guides/production.md)"))

    secrets = commands.add_parser("secrets", help="the secrets kept in a PostgreSQL store")
    secrets_commands = secrets.add_subparsers(dest="action", required=True, parser_class=Parser)
    with_data_dir(secrets_commands.add_parser(
        "rekey", help="seal every secret in the store again with ASTAPA_NEW_SECRET_KEY (ASTAPA_SECRET_KEY: the key"
        " they are sealed with now), in one transaction; then restart the servers with the new key"))
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return dispatch(args)
    except ConfigError as e:
        print(f"astapa: error: {e}", file=sys.stderr)
        return 2
    except (SecretKeyError, PersonKeysUnavailable, LogNotSealedError) as e:
        print(f"astapa: error: {e}", file=sys.stderr)
        return 2
    except RedirectUriRefusedError as e:  # bad input, as a malformed URI is
        print(f"astapa: error: {e.args[0]}", file=sys.stderr)
        return 2
    except DomainError as e:
        print(f"astapa: error: {describe(e)}", file=sys.stderr)
        return 1
    except (PersistenceError, sqlite3.Error) as e:
        print(f"astapa: error: cannot use the event store: {e}", file=sys.stderr)
        return 1


def describe(error: DomainError) -> str:
    if isinstance(error, ProjectNotFoundError):
        return f"no project {error.args[0]!r}"
    if isinstance(error, ClientNotFoundError):
        return f"no client {error.args[0]!r}"
    if isinstance(error, ClientSecretlessError):
        return f"client {error.args[0]!r} authenticates with {error.args[1]}, not a secret: there is none to rotate"
    if isinstance(error, ProjectClientKeptError):
        return (f"client {error.args[1]!r} is the own client of project {error.args[0]!r}: it cannot be"
                " deleted (rotate its secret instead)")
    if isinstance(error, AdminNotFoundError):
        return f"{error.args[0]!r} is no instance admin"
    if isinstance(error, SettingRefusedError):
        return error.args[1]
    if isinstance(error, ResourceTakenError):
        return f"resource {error.args[0]!r} is another project's ({error.args[1]!r})"
    if isinstance(error, GoLiveRefusedError):
        return "cannot go live: " + "; ".join(error.reasons)
    if isinstance(error, AlreadyLiveError):
        project_id, live_project_id = error.args
        if project_id == live_project_id:
            return f"project {project_id!r} is live already"
        return f"project {project_id!r} went live already: its live project is {live_project_id!r}"
    if isinstance(error, UserNotFoundError):
        return f"no user {error.args[1]!r} in project {error.args[0]!r}" if len(error.args) > 1 else "no such user"
    if isinstance(error, StoreNotDurableError):
        return f"the event store would not make commits durable ({error.args[0]}); refusing to run"
    return f"{type(error).__name__}: the event store is busy or changed meanwhile; try again"


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return serve(args)
    if args.command == "secrets":
        print(json.dumps(rekey_secrets(args)))
        return 0
    if args.command == "audit":
        return run_audit(args)
    app = open_backend(args).event_store(_application_class())
    try:
        operation = OPERATIONS.get((args.command, args.action))
        if operation is not None:
            value = operation(app, args)
        elif args.command == "project" and args.action == "payments":
            value = configure_payments(app, args)
        elif args.command == "project" and args.action == "providers":
            value = configure_providers(app, args)
        elif args.command == "project" and args.action == "update":
            value = update_project(app, args)
        elif args.command == "project":
            mode = "live" if args.live else "sandbox"
            value, _ = app.execute(app.create_project, args.name, args.redirect_uri, mode,
                                   list(dict.fromkeys(args.scope)),
                                   require_verified_email=args.require_verified_email,
                                   allow_registration=args.allow_registration,
                                   refresh_reuse_grace=args.refresh_reuse_grace,
                                   post_logout_redirect_uris=list(dict.fromkeys(args.post_logout_redirect_uri)),
                                   by="cli")
        elif args.command == "client":
            if args.public and not args.redirect_uri:
                raise ConfigError("--public needs --redirect-uri")
            if args.post_logout_redirect_uri and not args.redirect_uri:
                raise ConfigError("--post-logout-redirect-uri needs --redirect-uri")
            value, _ = app.execute(app.create_client, args.project, args.name,
                                   list(dict.fromkeys(args.scope)), args.token_ttl,
                                   jwks=args.jwk_file, jwks_uri=args.jwks_uri, public=args.public,
                                   redirect_uris=list(dict.fromkeys(args.redirect_uri)),
                                   post_logout_redirect_uris=list(dict.fromkeys(args.post_logout_redirect_uri)),
                                   by="cli")
        elif args.command == "console" and args.action == "remove-admin":
            value, _ = app.execute(app.remove_admin, console_email(args.email)[1])
        elif args.command == "console":
            value = add_console_admin(app, args)
        elif args.command == "resource":
            value, _ = app.execute(app.add_resource, args.project, args.uri, list(dict.fromkeys(args.scope)), by="cli")
        else:
            value = rotate_keys(app, args)
    finally:
        app.close()
    print(json.dumps(value))
    return 0


def update_project(app, args: argparse.Namespace) -> dict:
    """Every setting given, in one save: one refused (a redirect URI the project's mode does
    not take, say) changes nothing."""
    given = {"name": args.name, "redirect_uris": args.redirect_uri,
             "post_logout_redirect_uris": args.post_logout_redirect_uri,
             "require_verified_email": args.require_verified_email, "allow_registration": args.allow_registration,
             "refresh_reuse_grace": args.refresh_reuse_grace, "scopes": args.scope,
             "access_token_ttl": args.token_ttl, "refresh_ttl": args.refresh_ttl,
             "pin_sign_in": args.pin_sign_in, "pin_refresh_ttl": args.pin_refresh_ttl,
             "two_factor_required": args.require_two_factor, "two_factor_grace": args.two_factor_grace}
    changes = {setting: list(dict.fromkeys(value)) if isinstance(value, list) else value
               for setting, value in given.items() if value is not None}
    if not changes:
        raise ConfigError("give --name, --redirect-uri, --[no-]require-verified-email, --[no-]allow-registration,"
                          " --refresh-reuse-grace, --post-logout-redirect-uri, --scope, --token-ttl, --refresh-ttl,"
                          " --[no-]pin-sign-in, --pin-refresh-ttl, --[no-]require-two-factor or --two-factor-grace")
    if "name" in changes and not changes["name"].strip():
        raise ConfigError("--name must not be empty")
    value, _ = app.execute(app.update_project, args.project, changes, by="cli")
    return value


@contextlib.contextmanager
def read_models(app):
    """The projects and clients read model, built in memory from the event log now.

    Not DATA_DIR/read.db: a server may be following the log into it, and a second Runner
    there would apply some events twice (each runner keeps its position in memory between
    batches, so neither sees what the other applied); nor does read.db exist before a
    server first runs. Only the clients projection's events are read: one pass over the
    history of projects and clients, never behind the log."""
    from projections import clients
    from projections.runner import MEMORY, Runner

    runner = Runner(app, MEMORY, modules=(clients,))
    try:
        runner.catch_up()
        yield runner.conn
    finally:
        runner.conn.close()


def list_projects(app, args: argparse.Namespace) -> dict:
    from astapa.queries import projects_list

    with read_models(app) as conn:
        return {"projects": projects_list(conn)}


def show_project(app, args: argparse.Namespace) -> dict:
    from astapa.queries import project_details

    with read_models(app) as conn:
        project = project_details(conn, args.project)
    if project is None:
        raise ProjectNotFoundError(args.project)
    return project


def list_clients(app, args: argparse.Namespace) -> dict:
    from astapa.queries import clients_of

    app.project_mode(args.project)  # the project exists (ProjectNotFoundError otherwise)
    with read_models(app) as conn:
        return {"clients": clients_of(conn, args.project)}


def rotate_secret(app, args: argparse.Namespace) -> dict:
    from astapa.clock import SystemClock

    value, _ = app.execute(app.rotate_secret, args.client, SystemClock().now(), args.revoke_old, by="cli")
    return value


def delete_client(app, args: argparse.Namespace) -> dict:
    value, _ = app.execute(app.delete_client, args.client, by="cli")
    return value


def go_live(app, args: argparse.Namespace) -> dict:
    """The sandbox's live twin (astapa/app/golive.py). Mail counts as configured when this
    environment has ASTAPA_SMTP_URL, as the server's does; the sandbox's Xendit key is read
    from its 0600 file. The twin's secrets (the providers' copied, its production Xendit key)
    go to its files before the events, as `project providers` and `project payments` do."""
    from astapa.project_files import discard_twin, prepare_twin

    smtp_configured = parse_smtp_setting(env_default("ASTAPA_SMTP_URL")) is not None
    live_key = None
    if args.xendit_secret_key is not None:
        live_key = xendit_credentials("live", args.xendit_secret_key, args.xendit_callback_token)
    elif args.xendit_callback_token is not None:
        raise ConfigError("--xendit-callback-token needs --xendit-secret-key")
    vault = open_vault(args)
    twin = prepare_twin(app, vault, args.project, smtp_configured, live_key)  # refused before any secret
    try:
        value, _ = app.execute(app.go_live, args.project, smtp_configured, twin.development,
                               live_xendit=twin.xendit, live_project_id=twin.project_id, parts=twin.parts)
    except StoreBusyError:
        raise  # it may still be saved: its files stay
    except DomainError:  # refused: nothing was saved
        discard_twin(vault, twin)
        raise
    return value


def xendit_credentials(mode: str, key: str, token: str | None):
    """A Xendit key for a project of `mode` (KEY_PREFIX), and its webhook token if any."""
    from astapa.project_files import xendit_credentials as checked

    try:
        return checked(mode, key, token)
    except ValueError as e:
        raise ConfigError(str(e)) from None


# Commands that are one call each; the others are dispatched in `dispatch`.
def erase_user(app, args: argparse.Namespace) -> dict:
    """`user erase`: as DELETE /api/platform/users/{sub} does (astapa/app/erasure.py). The
    mail queued for them is found in a mail read model built in memory (the server's own
    read models are its own); a server running on the same store reads the erasure within
    its poll interval and drops the person from its read models and caches."""
    from astapa.queries import mail_of_user
    from projections import mail
    from projections.runner import MEMORY, Runner

    # Set first: reading the log may finish an earlier erasure a crash interrupted.
    app.throttle_backend = open_backend(args)
    if not app.postgres:
        app.outbox_dir = Path(app.person_keys.events_db).parent / "outbox"
    runner = Runner(app, MEMORY, modules=(mail,))
    try:
        runner.catch_up()
        messages = mail_of_user(runner.conn, args.project, args.sub)
    finally:
        runner.conn.close()
    erasure, _ = app.execute(app.erase_user, args.project, args.sub, "cli", messages)
    app.erase_person_key(args.project, args.sub)
    return erasure.view()


def encrypt_personal_data(app, args: argparse.Namespace) -> dict:
    """`log encrypt-personal-data`, with no server running: SQLite's data dir locked as a
    server locks it, a PostgreSQL store's jobs leadership held (some node of a running
    cluster always holds it). The data dir's read models go too (with PostgreSQL, every
    node's are rebuilt at its next start, their version having changed), so they are built
    again from the sealed log."""
    from astapa.store.personal_data import seal_existing_events

    with servers_stopped(open_backend(args)):
        sealed = seal_existing_events(app)
        if not app.postgres:
            remove_read_models(Path(app.person_keys.events_db).parent)
    return sealed


@contextlib.contextmanager
def servers_stopped(backend):
    """Held while the log is rewritten; ConfigError when a server runs on it."""
    if not backend.postgres:
        from astapa.server import lock_data_dir

        lock = lock_data_dir(backend.data_dir)  # ConfigError: "another astapa server is using data dir ..."
        try:
            yield
        finally:
            os.close(lock)
        return
    leadership = backend.leadership("jobs")
    try:
        if not leadership.try_lead():
            raise ConfigError("a server is running on this store (it holds the jobs lock): stop every node first")
        yield
    finally:
        leadership.close()


def remove_read_models(data_dir: Path) -> None:
    for name in ("read.db", "read.db-wal", "read.db-shm"):
        with contextlib.suppress(FileNotFoundError):
            (data_dir / name).unlink()


OPERATIONS = {
    ("user", "erase"): erase_user,
    ("log", "encrypt-personal-data"): encrypt_personal_data,
    ("project", "list"): list_projects,
    ("project", "show"): show_project,
    ("project", "go-live"): go_live,
    ("client", "list"): list_clients,
    ("client", "rotate-secret"): rotate_secret,
    ("client", "delete"): delete_client,
}


def configure_payments(app, args: argparse.Namespace) -> dict:
    """The key must be for the project's mode; the secrets go to a 0600 file, their hashes
    into the log."""
    from astapa.project_files import save_payments

    key, token = args.xendit_secret_key, args.xendit_callback_token
    credentials = xendit_credentials(app.project_mode(args.project), key, token)
    vault = open_vault(args)
    value, _ = app.execute(app.configure_payments, args.project, *save_payments(vault, args.project, credentials),
                           by="cli")
    return value


def configure_providers(app, args: argparse.Namespace) -> dict:
    """Client id and secret per provider, both or neither; the secrets go to a 0600 file
    (merged with what is there), their hashes into the log."""
    from astapa.project_files import save_providers

    configured: dict[str, tuple[str, str]] = {}
    for name in PROVIDERS:
        client_id, secret = getattr(args, f"{name}_client_id"), getattr(args, f"{name}_client_secret")
        if (client_id is None) != (secret is None):
            raise ConfigError(f"--{name}-client-id and --{name}-client-secret go together")
        if client_id is not None:
            if name in args.remove:
                raise ConfigError(f"--remove {name} with --{name}-client-id: choose one")
            configured[name] = (client_id, secret)
    if not configured and not args.remove:
        raise ConfigError("give a provider's client id and secret, or --remove PROVIDER")
    app.project_mode(args.project)  # the project exists (ProjectNotFoundError otherwise)
    vault = open_vault(args)
    removed = list(dict.fromkeys(args.remove))
    value, _ = app.execute(app.configure_providers, args.project,
                           save_providers(vault, args.project, configured, removed), removed, by="cli")
    return value


def console_email(value: str) -> tuple[str, str]:
    """--email as kept, and its key (users.normalise_email)."""
    from astapa.domain.errors import InvalidEmailError
    from astapa.domain.users import normalise_email

    try:
        return normalise_email(value)
    except InvalidEmailError:
        raise ConfigError(f"--email {value!r} is not an email address") from None


def add_console_admin(app, args: argparse.Namespace) -> dict:
    """An instance admin of the console, and the link that lets them choose a password."""
    import time

    email, email_key = console_email(args.email)
    issuer = args.issuer or env_default("ASTAPA_ISSUER") or app.console_issuer() or "http://127.0.0.1:8080"
    value, _ = app.execute(app.add_admin, email, email_key, time.time())
    return {"email": value["email"], "setup_url": f"{issuer.rstrip('/')}/dashboard/setup?token={value['token']}"}


def open_backend(args: argparse.Namespace):
    """The store `--store` names (a PostgreSQL store needs no data dir, and its secrets
    ASTAPA_SECRET_KEY), else SQLite under the data dir."""
    from astapa.store.backends import Backend

    url = args.store_url or env_default("ASTAPA_STORE_URL")
    if url is not None:
        store_url, secret_key = parse_store(url, env_default("ASTAPA_SECRET_KEY"), secret_key_needed=False)
        return Backend(None, store_url, secret_key)
    return Backend(prepare_data_dir(args.data_dir or env_default("ASTAPA_DATA_DIR", "var")))


def open_vault(args: argparse.Namespace):
    return open_backend(args).vault()


def _application_class():
    from astapa.app import AstapaApplication

    return AstapaApplication


def rekey_secrets(args: argparse.Namespace) -> dict:
    """The store's secrets sealed again under a new ASTAPA_SECRET_KEY; nothing changes unless
    every one of them opens with the current key."""
    from astapa.store.postgres import SecretBox

    backend = open_backend(args)
    if not backend.postgres:
        raise ConfigError("secrets rekey needs --store (ASTAPA_STORE_URL): without a PostgreSQL store, secrets are"
                          " 0600 files under the data dir and are not sealed with a key")
    new_key = env_default("ASTAPA_NEW_SECRET_KEY")
    if new_key is None or len(new_key) < SECRET_KEY_LENGTH:
        raise ConfigError(f"ASTAPA_NEW_SECRET_KEY must hold the new key, at least {SECRET_KEY_LENGTH} characters")
    if new_key == backend.secret_key:
        raise ConfigError("ASTAPA_NEW_SECRET_KEY is the key the secrets are sealed with already")
    vault = backend.vault()
    try:
        person_keys = vault.rekey(SecretBox(new_key))
        return {"resealed": len(vault.names()), "person_keys_resealed": person_keys}
    finally:
        vault.close()


def run_audit(args: argparse.Namespace) -> int:
    """`audit verify` and `audit checkpoint`: the report on standard output; a broken log
    exits 1 with the report naming the first bad position."""
    from astapa import audit

    backend = open_backend(args)
    if not backend.postgres and not (backend.data_dir / "events.db").exists():
        raise ConfigError(f"no event store at {backend.data_dir / 'events.db'}")
    # Plain verify reads the raw rows only: it opens no application, so it writes nothing
    # and needs no key (an auditor's read-only copy of the log). Checkpoints need the keys.
    app = backend.event_store(_application_class()) if args.action == "checkpoint" or args.since else None
    try:
        if args.action == "checkpoint":
            from astapa.domain.errors import KeyRingMissingError

            try:
                app.key_ring()
            except KeyRingMissingError:
                raise ConfigError("no signing key yet to sign a checkpoint with: start the server once") from None
            vault = backend.vault()
            try:
                report = audit.make_checkpoint(backend, app, vault)
            finally:
                if hasattr(vault, "close"):  # a PostgreSQL vault's connection
                    vault.close()
        else:
            since = audit.read_checkpoint(args.since, app) if args.since else None
            with audit.terminal_progress() as progress:
                report = audit.verify_log(backend, since, progress)
    except audit.AuditError as e:
        raise ConfigError(str(e)) from None
    except audit.LogBroken as e:
        print(json.dumps(e.report))
        print(f"astapa: {e}", file=sys.stderr)
        return 1
    finally:
        if app is not None:
            app.close()
    print(json.dumps(report))
    return 0


def rotate_keys(app, args: argparse.Namespace) -> dict:
    from astapa.keys import generate_key
    from astapa.server import ensure_key_ring

    vault = open_vault(args)
    ensure_key_ring(app, vault)
    value, _ = app.execute(app.rotate_keys, generate_key(vault))
    return value


def serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.host, args.port, args.data_dir, args.issuer, args.demo,
                             args.bcrypt_cost, args.console_signup, args.store_url, args.workers)
    if settings.workers > 1 and not settings.worker:
        from astapa.server import supervise

        with log_to_stderr():
            return supervise(settings, sys.argv[1:])
    from astapa.server import run  # after the settings: bad configuration fails without the import

    with log_to_stderr():
        run(settings)
    return 0


@contextlib.contextmanager
def log_to_stderr():
    """Log lines go to stderr through one writer thread, in bulk (astapa/logs.py)."""
    from astapa import logs

    writer = logs.LogWriter()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(logs.LineHandler(writer))
    writer.start()
    logs.current = writer
    try:
        yield
    finally:
        logs.current = None
        writer.stop()
