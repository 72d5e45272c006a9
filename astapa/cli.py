"""The `astapa` command: serve, project, client, keys. Thin: parse, call, print one JSON object.

Bad input or configuration prints one line on stderr and exits 2.
"""

import argparse
import contextlib
import json
import logging
import sqlite3
import sys

from eventsourcing.persistence import PersistenceError

from astapa.config import ConfigError, env_default, load_settings, prepare_data_dir
from astapa.domain.errors import DomainError, ProjectNotFoundError, StoreNotDurableError
from astapa.domain.identities import PROVIDERS
from astapa.domain.refresh import DEFAULT_REUSE_GRACE, MAX_REUSE_GRACE
from astapa.oauth.scopes import is_scope_token

MAX_TOKEN_TTL = 86400


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise ConfigError(message)


def scope_value(value: str) -> str:
    if not is_scope_token(value):
        raise argparse.ArgumentTypeError(f"invalid scope {value!r}")
    return value


def provider_value(value: str) -> str:
    """A client id or secret as a provider's console shows it: printable, no spaces."""
    if not 1 <= len(value) <= 512 or not value.isascii() or not value.isprintable() or " " in value:
        raise argparse.ArgumentTypeError("must be 1 to 512 printable ASCII characters without spaces")
    return value


def token_ttl(value: str) -> int:
    try:
        ttl = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--token-ttl must be whole seconds, got {value!r}") from None
    if not 1 <= ttl <= MAX_TOKEN_TTL:
        raise argparse.ArgumentTypeError(f"--token-ttl must be from 1 to {MAX_TOKEN_TTL} seconds")
    return ttl


def reuse_grace(value: str) -> int:
    seconds = int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else -1
    if not 0 <= seconds <= MAX_REUSE_GRACE:
        raise argparse.ArgumentTypeError(
            f"--refresh-reuse-grace must be whole seconds from 0 to {MAX_REUSE_GRACE}, got {value!r}")
    return seconds


def redirect_uri(value: str) -> str:
    from astapa.oauth.authorize import check_redirect_uri

    try:
        return check_redirect_uri(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def jwks_uri(value: str) -> str:
    """https; http only to a loopback host (fetched only with ASTAPA_CIMD_ALLOW_HTTP_LOOPBACK)."""
    from urllib.parse import urlsplit

    from astapa.oauth.authorize import LOOPBACK_HOSTS

    parts = urlsplit(value)
    if not parts.hostname or parts.fragment or not (
            parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)):
        raise argparse.ArgumentTypeError("--jwks-uri must be an https URL")
    return value


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
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def with_data_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--data-dir", help="data directory (ASTAPA_DATA_DIR, default ./var)")
        return p

    serve = with_data_dir(commands.add_parser("serve", help="run the service"))
    serve.add_argument("--host", help="interface (ASTAPA_HOST, default 127.0.0.1)")
    serve.add_argument("--port", help="port (ASTAPA_PORT, default 8080)")
    serve.add_argument("--issuer", help="issuer URL (ASTAPA_ISSUER, default http://HOST:PORT)")
    serve.add_argument("--demo", action="store_true",
                       help="create (once) a demo project and serve its pages under /demo")
    serve.add_argument("--bcrypt-cost", help="bcrypt work factor (ASTAPA_BCRYPT_COST, default 12)")

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
    update = with_data_dir(project_commands.add_parser("update", help="change a project's settings"))
    update.add_argument("--project", required=True)
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

    resource = commands.add_parser("resource", help="manage protected resources (RFC 8707)")
    resource_commands = resource.add_subparsers(dest="action", required=True, parser_class=Parser)
    resource_add = with_data_dir(resource_commands.add_parser(
        "add", help="register a resource (an API, an MCP server) tokens may be issued for"))
    resource_add.add_argument("--project", required=True)
    resource_add.add_argument("--uri", required=True, type=resource_uri)
    resource_add.add_argument("--scope", action="append", default=[], type=scope_value)

    keys = commands.add_parser("keys", help="manage signing keys")
    keys_commands = keys.add_subparsers(dest="action", required=True, parser_class=Parser)
    with_data_dir(keys_commands.add_parser("rotate", help="make the published next key current"))
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return dispatch(args)
    except ConfigError as e:
        print(f"astapa: error: {e}", file=sys.stderr)
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
    if isinstance(error, StoreNotDurableError):
        return f"the event store would not make commits durable ({error.args[0]}); refusing to run"
    return f"{type(error).__name__}: the event store is busy or changed meanwhile; try again"


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return serve(args)
    app = open_application(args.data_dir)
    try:
        if args.command == "project" and args.action == "payments":
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
                                   post_logout_redirect_uris=list(dict.fromkeys(args.post_logout_redirect_uri)))
        elif args.command == "client":
            if args.public and not args.redirect_uri:
                raise ConfigError("--public needs --redirect-uri")
            if args.post_logout_redirect_uri and not args.redirect_uri:
                raise ConfigError("--post-logout-redirect-uri needs --redirect-uri")
            value, _ = app.execute(app.create_client, args.project, args.name,
                                   list(dict.fromkeys(args.scope)), args.token_ttl,
                                   jwks=args.jwk_file, jwks_uri=args.jwks_uri, public=args.public,
                                   redirect_uris=list(dict.fromkeys(args.redirect_uri)),
                                   post_logout_redirect_uris=list(dict.fromkeys(args.post_logout_redirect_uri)))
        elif args.command == "resource":
            value, _ = app.execute(app.add_resource, args.project, args.uri, list(dict.fromkeys(args.scope)))
        else:
            value = rotate_keys(app, args.data_dir)
    finally:
        app.close()
    print(json.dumps(value))
    return 0


def update_project(app, args: argparse.Namespace) -> dict:
    if args.require_verified_email is None and args.allow_registration is None and args.refresh_reuse_grace is None \
            and args.post_logout_redirect_uri is None:
        raise ConfigError("give --[no-]require-verified-email, --[no-]allow-registration, --refresh-reuse-grace"
                          " or --post-logout-redirect-uri")
    value: dict = {"project_id": args.project}
    if args.require_verified_email is not None:
        changed, _ = app.execute(app.set_sign_in_policy, args.project, args.require_verified_email)
        value.update(changed)
    if args.allow_registration is not None:
        changed, _ = app.execute(app.set_registration_policy, args.project, args.allow_registration)
        value.update(changed)
    if args.refresh_reuse_grace is not None:
        changed, _ = app.execute(app.set_refresh_reuse_grace, args.project, args.refresh_reuse_grace)
        value.update(changed)
    if args.post_logout_redirect_uri is not None:
        changed, _ = app.execute(app.set_post_logout_redirect_uris, args.project,
                                 list(dict.fromkeys(args.post_logout_redirect_uri)))
        value.update(changed)
    return value


def configure_payments(app, args: argparse.Namespace) -> dict:
    """The key must be for the project's mode; the secrets go to a 0600 file, their hashes
    into the log."""
    from astapa.crypto import sha256_hex
    from astapa.payments.credentials import KEY_PREFIX, XenditCredentials, write_credentials

    mode = app.project_mode(args.project)
    key, token = args.xendit_secret_key, args.xendit_callback_token
    if not key.startswith(KEY_PREFIX[mode]) or len(key) < len(KEY_PREFIX[mode]) + 8:
        raise ConfigError(f"a {mode} project needs a Xendit secret key starting {KEY_PREFIX[mode]}")
    if token is not None and not 8 <= len(token) <= 512:
        raise ConfigError("--xendit-callback-token must be 8 to 512 characters")
    keys_dir = prepare_data_dir(args.data_dir or env_default("ASTAPA_DATA_DIR", "var")) / "keys"
    write_credentials(keys_dir, args.project, XenditCredentials(key, token))
    value, _ = app.execute(app.configure_payments, args.project, sha256_hex(key),
                           sha256_hex(token) if token else None)
    return value


def configure_providers(app, args: argparse.Namespace) -> dict:
    """Client id and secret per provider, both or neither; the secrets go to a 0600 file
    (merged with what is there), their hashes into the log."""
    from astapa.crypto import sha256_hex
    from astapa.providers import SECRETS_KIND
    from astapa.store.project_secrets import read_secrets, write_secrets

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
    keys_dir = prepare_data_dir(args.data_dir or env_default("ASTAPA_DATA_DIR", "var")) / "keys"
    document = read_secrets(keys_dir, SECRETS_KIND, args.project)
    for name in args.remove:
        document.pop(name, None)
    for name, (client_id, secret) in configured.items():
        document[name] = {"client_id": client_id, "client_secret": secret}
    write_secrets(keys_dir, SECRETS_KIND, args.project, document)
    value, _ = app.execute(app.configure_providers, args.project,
                           {name: (client_id, sha256_hex(secret)) for name, (client_id, secret) in configured.items()},
                           list(dict.fromkeys(args.remove)))
    return value


def open_application(data_dir: str | None):
    from astapa.app import AstapaApplication

    directory = prepare_data_dir(data_dir or env_default("ASTAPA_DATA_DIR", "var"))
    return AstapaApplication(directory / "events.db")


def rotate_keys(app, data_dir: str | None) -> dict:
    from astapa.keys import generate_key
    from astapa.server import ensure_key_ring

    keys_dir = prepare_data_dir(data_dir or env_default("ASTAPA_DATA_DIR", "var")) / "keys"
    ensure_key_ring(app, keys_dir)
    kid, _ = app.execute(app.rotate_keys, generate_key(keys_dir))
    ring = app.key_ring()
    return {"current_kid": kid, "next_kid": ring.next_kid}


def serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.host, args.port, args.data_dir, args.issuer, args.demo,
                             args.bcrypt_cost)
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
