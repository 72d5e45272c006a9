"""The documentation site's reference pages, generated at build time (an MkDocs hook).

mkdocs.yml names this file under `hooks:`; `on_files` adds four pages that exist only in the
built site, so they can never fall behind the code:

    reference/configuration.md   every field of astapa.config.Settings: flag, ASTAPA_* twin,
                                 default and the comment that documents it
    reference/cli.md             every `astapa` subcommand, from astapa.cli.build_parser()
    reference/http-api.md        every operation and schema of openapi.json
    reference/events.md          every aggregate in astapa/domain/ and its events' fields

Run it alone to print one page: `.venv/bin/python scripts/docs_reference.py cli`.
A Settings field without a comment, or an undocumented subcommand, is logged as a warning,
which fails `mkdocs build --strict`.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import inspect
import json
import logging
import pkgutil
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

log = logging.getLogger("mkdocs.hooks.docs_reference")

GENERATED_NOTE = ("<!-- Generated at build time by scripts/docs_reference.py from {source}; "
                  "edit the source, not this page. -->\n\n")


# --- configuration: astapa.config.Settings -------------------------------------------------

class DocsError(Exception):
    """The code is not shaped as this generator expects: say so, rather than document less."""


def _top_level(tree: ast.Module, kind: type, name: str):
    found = next((node for node in tree.body if isinstance(node, kind) and node.name == name), None)
    if found is None:
        raise DocsError(f"astapa/config.py has no {name}; update scripts/docs_reference.py")
    return found


def _settings_comments(source: str, tree: ast.Module) -> dict[str, str]:
    """field -> its comment: the comment block right above it, or the block above the run of
    fields (no blank line between) it belongs to."""
    lines = source.splitlines()
    settings = _top_level(tree, ast.ClassDef, "Settings")
    docs: dict[str, str] = {}
    group = ""
    previous_end = None
    for node in settings.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            previous_end = None
            continue
        comment: list[str] = []
        row = node.lineno - 2  # the line above, 0-based
        while row >= 0 and lines[row].strip().startswith("#"):
            comment.insert(0, lines[row].strip().lstrip("#").strip())
            row -= 1
        if comment:
            group = " ".join(comment)
        elif previous_end is None or node.lineno != previous_end + 1:
            group = ""
        docs[node.target.id] = group
        previous_end = node.end_lineno
    return docs


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _env_names_in(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and re.fullmatch(r"ASTAPA_[A-Z0-9_]+", n.value)]


def _settings_env_twins(tree: ast.Module) -> dict[str, list[str]]:
    """field -> the ASTAPA_* variables load_settings() reads for it, following the local
    variables its keyword argument is computed from."""
    load = _top_level(tree, ast.FunctionDef, "load_settings")
    assignments: dict[str, list[ast.AST]] = {}
    for node in ast.walk(load):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assignments.setdefault(target.id, []).append(node.value)
    call = next((node for node in ast.walk(load) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Name) and node.func.id == "Settings"), None)
    if call is None:
        raise DocsError("astapa/config.py: load_settings() no longer calls Settings(...); "
                        "teach scripts/docs_reference.py where the ASTAPA_* variables are read")
    twins: dict[str, list[str]] = {}
    for keyword in call.keywords:
        found: list[str] = _env_names_in(keyword.value)
        seen: set[str] = set()
        pending = _names_in(keyword.value)
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            for value in assignments.get(name, []):
                found += _env_names_in(value)
                pending |= _names_in(value)
        twins[keyword.arg] = list(dict.fromkeys(found))
    # A variable named after a field is that field's alone (the issuer's default is built from
    # ASTAPA_HOST and ASTAPA_PORT, which are still the twins of host and port only).
    owners = {f"ASTAPA_{field.upper()}": field for field in twins}
    return {field: [name for name in names if owners.get(name, field) == field] for field, names in twins.items()}


def _serve_flags() -> dict[str, str]:
    """Settings field -> the `astapa serve` flag of the same name."""
    from astapa.cli import build_parser

    serve = _subcommands(build_parser())["serve"][0]
    return {action.dest: action.option_strings[-1] for action in serve._actions
            if action.option_strings and action.dest != "help"}


def _default_text(field: dataclasses.Field, node: ast.AnnAssign | None, source: str) -> str:
    if field.default is dataclasses.MISSING:
        return "(required)"
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Path):
        return f"`./{value}`"
    text = f"`{value}`"
    if node is not None and node.value is not None and isinstance(node.value, ast.BinOp):
        text += f" ({ast.get_source_segment(source, node.value)})"
    return text


def configuration_page() -> str:
    from astapa import config

    source = Path(config.__file__).read_text()
    tree = ast.parse(source)
    comments = _settings_comments(source, tree)
    twins = _settings_env_twins(tree)
    flags = _serve_flags()
    nodes = {node.target.id: node for cls in tree.body if isinstance(cls, ast.ClassDef) and cls.name == "Settings"
             for node in cls.body if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}
    out = [GENERATED_NOTE.format(source="astapa/config.py"), "# Configuration\n\n",
           "`astapa serve` reads one frozen set of settings when it starts. A setting with a flag is\n",
           "given on the command line (`.venv/bin/astapa serve --port 9000`); one with an environment\n",
           "variable can be given that way too (`ASTAPA_PORT=9000`). A flag beats its environment\n",
           "variable, which beats the default. Settings with neither are fixed at their defaults.\n\n",
           "A bad value (a port in use or out of range, a data dir that is not writable, an issuer\n",
           "that is not an absolute http(s) URL without query or fragment, an unknown flag, a second\n",
           "server on the same data dir) stops `astapa serve` with exit status 2 and one line on\n",
           "stderr. Settings of the eventsourcing library in the environment are ignored: the event\n",
           "store is always `DATA_DIR/events.db`.\n\n",
           "| Setting | Flag | Environment | Default |\n| --- | --- | --- | --- |\n"]
    rows, details = [], []
    for field in dataclasses.fields(config.Settings):
        flag = flags.get(field.name)
        env = twins.get(field.name, [])
        doc = field.metadata.get("doc") or comments.get(field.name, "")
        if not doc:
            log.warning("astapa.config.Settings.%s has no comment to document it", field.name)
        default = _default_text(field, nodes.get(field.name), source)
        rows.append(f"| [`{field.name}`](#{field.name}) | {f'`{flag}`' if flag else ''} | "
                    f"{', '.join(f'`{name}`' for name in env)} | {default} |\n")
        where = []
        if flag:
            where.append(f"flag `{flag}`")
        where += [f"environment `{name}`" for name in env]
        details.append(f"### `{field.name}` {{#{field.name}}}\n\n{doc}\n\n"
                       f"- Set by: {', '.join(where) if where else 'nothing (fixed at its default)'}\n"
                       f"- Default: {default}\n\n")
    out += rows
    out.append("\n## Every setting\n\n")
    out += details
    return "".join(out)


# --- the command line: astapa.cli.build_parser() -------------------------------------------

def _subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[argparse.ArgumentParser, str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            return {name: (sub, helps.get(name, "")) for name, sub in action.choices.items()}
    return {}


def _leaf_commands(parser, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    found = []
    for name, (sub, help_text) in _subcommands(parser).items():
        path = (*prefix, name)
        if _subcommands(sub):
            found += _leaf_commands(sub, path)
        else:
            found.append((path, sub, help_text))
    return found


def _option_line(action: argparse.Action) -> str:
    name = ", ".join(f"`{option}`" for option in action.option_strings)
    if isinstance(action, argparse.BooleanOptionalAction):
        name = f"`{action.option_strings[0]}`, `{action.option_strings[1]}`"
    elif action.nargs != 0:
        metavar = action.metavar or action.dest.upper()
        name = ", ".join(f"`{option} {metavar}`" for option in action.option_strings)
    notes = []
    if action.required:
        notes.append("required")
    if isinstance(action, argparse._AppendAction) and "repeatable" not in (action.help or ""):
        notes.append("repeatable")
    if action.choices:
        notes.append("one of " + ", ".join(f"`{choice}`" for choice in action.choices))
    text = action.help or ""
    if text and notes:
        text = f"{text} ({', '.join(notes)})"
    elif notes:
        text = ", ".join(notes).capitalize()
    return f"- {name}" + (f": {text}" if text else "") + "\n"


# What each command prints on stdout, and rules its options' help does not say. A command
# missing here is a warning (so the strict build fails until it is described).
PRINTS: dict[tuple[str, ...], tuple[str, str]] = {
    ("serve",): (
        "nothing on stdout; log lines go to stderr",
        ("It runs until SIGTERM or SIGINT, then stops accepting, lets in-flight requests finish, "
         "commits what they queued, and exits 0. See [Configuration](configuration.md) for every "
         "setting and its environment variable.")),
    ("project", "create"): (
        ('`{"project_id", "client_id", "client_secret", "mode", "require_verified_email", '
         '"allow_registration"}`'),
        ("`mode` is `sandbox`, or `live` with `--live`. Redirect URIs must be absolute `https` "
         "URLs (`http` only for `127.0.0.1`, `[::1]` and `localhost`, or a private-use scheme such"
         " as `com.example.app:/cb`), without fragment, wildcard or user information; a sandbox "
         "project also takes `http` on any host (exit status 2 for a URI the mode refuses). `--scope` "
         "grants the project's own client a scope (RFC 6749 §3.3 syntax).")),
    ("project", "list"): (
        '`{"projects": [{"project_id", "name", "mode", "client_id", "created_at"}]}`',
        "Oldest first."),
    ("project", "show"): (
        ('`{"project_id", "name", "mode", "client_id", "redirect_uris", "post_logout_redirect_uris", '
         '"scopes", "providers", "resources", "require_verified_email", "allow_registration", '
         '"refresh_reuse_grace", "access_token_ttl", "created_at", "live_project_id", "sandbox_project_id"}`'),
        ("No secret, and no hash of one, is shown. `access_token_ttl`: the lifetime of the "
         "project's own client's access tokens (null: the server's default). `live_project_id`: a sandbox's live twin once it "
         "went live; `sandbox_project_id`: a live twin's sandbox (otherwise null).")),
    ("project", "go-live"): (
        ('`{"project_id", "client_id", "client_secret", "mode": "live", "sandbox_project_id", '
         '"clients": [{"client_id", "client_secret"?, "name", "sandbox_client_id"}], "plans", '
         '"resources", "providers", "xendit"?}`'),
        ("The sandbox's live twin: a new project with a copy of its configuration (redirect URIs, "
         "scopes, settings, resources, providers, plans, machine clients under new ids) and none of "
         "its data. Every secret is printed once. Refused (exit status 1, every reason on one line) "
         "while a redirect URI is `http` off loopback, while the sandbox's payments use a development "
         "Xendit key and no `--xendit-secret-key xnd_production_…` is given, or without "
         "`ASTAPA_SMTP_URL`; refused too for a live project, or a sandbox that went live already.")),
    ("project", "update"): (
        ('`{"project_id", "name"?, "redirect_uris"?, "require_verified_email"?, "allow_registration"?, '
         '"refresh_reuse_grace"?, "post_logout_redirect_uris"?, "scopes"?, "access_token_ttl"?}`: the '
         'settings given, in one save'),
        ("Give at least one setting. `--redirect-uri` and `--post-logout-redirect-uri` replace the "
         "URIs registered before: an authorization request naming a URI left out is refused.")),
    ("project", "payments"): (
        '`{"project_id", "mode", "xendit": "configured"}`',
        ("The key must match the project's mode: `xnd_development_…` for a sandbox project, "
         "`xnd_production_…` for a live one. The secrets go to "
         "`DATA_DIR/keys/xendit/PROJECT_ID.json` (0600); the log keeps their SHA-256.")),
    ("project", "providers"): (
        '`{"project_id", "providers"}`',
        ("A provider's client id and secret go together. The secrets go to "
         "`DATA_DIR/keys/providers/PROJECT_ID.json` (0600); the log keeps the client id and the "
         "secret's SHA-256.")),
    ("client", "create"): (
        ('`{"client_id", "client_secret"?, "scopes", "project_id", "token_endpoint_auth_method", '
         '"grant_types", "token_ttl"?, "redirect_uris"?}`'),
        ("No secret with `--jwks-uri`, `--jwk-file` or `--public`. `--token-ttl` is 1 to 86400 "
         "seconds (default 3600). `--public` needs `--redirect-uri`. Redirect URIs follow the "
         "rules of `project create`.")),
    ("client", "list"): (
        ('`{"clients": [{"client_id", "name", "kind", "auth_method", "scopes", "token_ttl", '
         '"grant_types", "redirect_uris", "created_at", "previous_secret_valid_until"}]}`'),
        ("The project's own client first (`kind` `project`), then its machine clients (`machine`) "
         "and the clients that registered themselves (`registered`), oldest first. "
         "`previous_secret_valid_until` is when the secret before the last rotation stops (or "
         "stopped) working, or null.")),
    ("client", "rotate-secret"): (
        '`{"client_id", "client_secret", "previous_secret_valid_until"}`',
        ("The new secret is printed once. The secret it replaces keeps working until "
         "`previous_secret_valid_until`, 24 hours on, or not at all with `--revoke-old` (then null). "
         "Rotating again meanwhile ends that older secret: only the one just replaced keeps working. "
         "Works for a project's own client too; a client with keys or none has no secret to rotate.")),
    ("client", "delete"): (
        '`{"client_id", "deleted": true}`',
        ("The client authenticates no more; its client_id is never given out again. A project's own "
         "client cannot be deleted.")),
    ("resource", "add"): (
        '`{"project_id", "resource", "scopes", "resources"}`',
        "Adding a URI again replaces its scopes."),
    ("console", "add-admin"): (
        '`{"email", "setup_url"}`',
        ("EMAIL becomes an instance admin of the console (once). Opening `setup_url` (single use, "
         "24 hours) lets that person choose a password and lands on the console signed in; running "
         "the command again prints a new link. The link is under `--issuer`, else `ASTAPA_ISSUER`, "
         "else the issuer the server last ran with. See [the console](../guides/console.md).")),
    ("console", "remove-admin"): (
        '`{"email", "admin": false}`',
        ("EMAIL is no longer an instance admin; their console account stays, and so do the "
         "projects they are a member of. `add-admin` makes them one again.")),
    ("keys", "rotate"): (
        '`{"current_kid", "next_kid"}`',
        "A running server signs with the new current key within a second."),
    ("audit", "verify"): (
        '`{"events", "head": "sha256:…"}`, with `"since": {"position", "events", "head", "iat"}` given `--since`',
        ("Recomputes the hash chain over every event, in one consistent snapshot of the log. Exit status 1 when "
         'the log was altered, printing `{"error", "position", "problem"}` (`changed`, `removed` or `inserted`) for '
         "the first position found; exit status 2 for a checkpoint that is not this service's. A progress bar goes "
         "to stderr on a terminal. See [Audit and compliance](../guides/audit.md).")),
    ("audit", "checkpoint"): (
        '`{"checkpoint", "position", "events", "head", "iat"}`',
        ("`checkpoint` is a JWT (`typ` `log-checkpoint+jwt`) signed with the service's current signing key, "
         "claiming the other fields. The log is verified first (exit status 1 if it was altered).")),
    ("user", "erase"): (
        '`{"project_id", "sub", "erased": true}`',
        ("Erases the person, as `DELETE /api/platform/users/{sub}` does: their key is deleted, so their "
         "personal data in the log reads `[erased]` from then on; their tokens die; their address can sign "
         "up again. Running it again prints the same (exit status 1 for a sub the project never had). A "
         "running server reads the erasure at its next poll of the log. See [Erasure](../guides/erasure.md).")),
    ("log", "encrypt-personal-data"): (
        '`{"events", "sealed", "snapshots_deleted"}`',
        ("Seals, in place and in one transaction, the personal data that versions before erasure wrote in "
         "clear, then VACUUMs the store and rebuilds the hash chain. Run it once, with every server stopped; "
         "running it again seals nothing. See [Upgrades](../guides/production.md#upgrades).")),
    ("secrets", "rekey"): (
        '`{"resealed", "person_keys_resealed"}`',
        "Every secret in the PostgreSQL store, and every person's key, sealed again under ASTAPA_NEW_SECRET_KEY"
        " (ASTAPA_SECRET_KEY: the current key), in one transaction; refused without --store. Then restart every"
        " server with the new key (until then, a server still on the old key answers 503 to a sign-up)."),
}


def cli_page() -> str:
    from astapa.cli import build_parser

    parser = build_parser()
    out = [GENERATED_NOTE.format(source="astapa/cli.py"), "# Command line\n\n",
           f"{parser.description}. Every command below is run as `.venv/bin/astapa COMMAND …` from the\n",
           "checkout (or `astapa …` with the virtual environment active). Every command but `serve`\n",
           "prints one JSON object on stdout and works while the server runs on the same data dir:\n",
           "the server serves what it wrote within one second.\n\n",
           "A bad command line or configuration prints one line, `astapa: error: …`, on stderr and\n",
           "exits with status 2; a refusal from the service (an unknown project, say) exits with 1.\n",
           "Client secrets are printed once; only their SHA-256 is kept. `astapa --version` prints\n",
           "the version (`astapa 0.1.0`, say).\n\n"]
    for path, sub, help_text in _leaf_commands(parser):
        command = " ".join(("astapa", *path))
        if not help_text:
            log.warning("`%s` has no help text", command)
        usage = "\n".join(line.removeprefix(" " * len("usage: "))
                          for line in sub.format_usage().strip().removeprefix("usage: ").splitlines())
        anchor = "-".join(path)
        out.append(f"## `{command}` {{#{anchor}}}\n\n{help_text[:1].upper() + help_text[1:]}.\n\n"
                   f"```text\n{usage}\n```\n\n")
        if path in PRINTS:
            prints, notes = PRINTS[path]
            out.append(f"Prints {prints}. {notes}\n\n")
        else:
            log.warning("`%s` is not described in PRINTS (scripts/docs_reference.py)", command)
        options = [action for action in sub._actions if action.option_strings and action.dest != "help"]
        if options:
            out.append("".join(_option_line(action) for action in options) + "\n")
    return "".join(out)


# --- the HTTP API: openapi.json -------------------------------------------------------------

TAG_TITLES = {"oauth": "OAuth"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class OpenApi:
    def __init__(self, document: dict) -> None:
        self.document = document

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            path = node["$ref"].removeprefix("#/").split("/")
            target = self.document
            for part in path:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    @staticmethod
    def ref_name(node: Any) -> str | None:
        if isinstance(node, dict) and node.get("$ref", "").startswith("#/components/schemas/"):
            return node["$ref"].rsplit("/", 1)[1]
        return None

    def type_of(self, schema: Any) -> str:
        name = self.ref_name(schema)
        if name:
            return f"[{name}](#schema-{name.lower()})"
        if not isinstance(schema, dict):
            return ""
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return " or ".join(self.type_of(option) for option in schema[key])
        kind = schema.get("type", "")
        if isinstance(kind, list):
            kind = " or ".join(kind)
        if kind == "array" and "items" in schema:
            return f"array of {self.type_of(schema['items'])}"
        if "const" in schema:
            return f"`{json.dumps(schema['const'])}`"
        if "enum" in schema:
            return f"{kind} (" + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"]) + ")"
        return kind or "any"


def _indented(text: str, spaces: int = 4) -> str:
    """`text` as the continuation of a list item."""
    lines = text.strip().splitlines()
    return "\n".join([lines[0]] + [(" " * spaces + line) if line.strip() else "" for line in lines[1:]]) if lines else ""


def _json_block(value: Any, indent: int = 0) -> str:
    pad = " " * indent
    body = json.dumps(value, indent=2, ensure_ascii=False)
    return f"{pad}```json\n" + "".join(f"{pad}{line}\n" for line in body.splitlines()) + f"{pad}```\n"


def _operation_anchor(method: str, path: str, operation: dict) -> str:
    raw = operation.get("operationId") or f"{method}-{path}"
    return "op-" + re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")


def _schema_lines(api: OpenApi, schema: dict) -> list[str]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    lines = []
    for name, prop in properties.items():
        resolved = api.resolve(prop)
        flags = "required" if name in required else "optional"
        text = (prop.get("description") or resolved.get("description") or "") if isinstance(prop, dict) else ""
        lines.append(f"- `{name}` ({api.type_of(prop)}, {flags})" + (f": {_indented(text)}" if text else "") + "\n")
    return lines


def http_api_page() -> str:
    document = json.loads((REPO / "openapi.json").read_text())
    api = OpenApi(document)
    info = document.get("info", {})
    out = [GENERATED_NOTE.format(source="openapi.json"), "# HTTP API\n\n",
           f"{info.get('description', '')}\n\n",
           (f"This page is rendered from `openapi.json` ({document.get('openapi', '')}, version "
            f"{info.get('version', '')}), which the server also serves at `GET /openapi.json`.\n\n")]
    schemes = document.get("components", {}).get("securitySchemes", {})
    if schemes:
        out.append("## Authentication\n\n")
        for name, scheme in schemes.items():
            out.append(f"- `{name}` ({scheme.get('type')}"
                       f"{', ' + scheme['scheme'] if 'scheme' in scheme else ''}): {_indented(scheme.get('description', ''))}\n")
        out.append("\n")
    by_tag: dict[str, list[tuple[str, str, dict, dict]]] = {}
    for path, item in document.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((method, path, operation, {"parameters": shared}))
    tags = [tag["name"] for tag in document.get("tags", [])] + sorted(set(by_tag) - {t["name"] for t in document.get("tags", [])})
    descriptions = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    out.append("## Operations\n\n")
    for tag in tags:
        for method, path, operation, _ in by_tag.get(tag, []):
            out.append(f"- [`{method.upper()} {path}`](#{_operation_anchor(method, path, operation)}): "
                       f"{operation.get('summary', '')}\n")
    out.append("\n")
    for tag in tags:
        if tag not in by_tag:
            continue
        title = TAG_TITLES.get(tag, tag[:1].upper() + tag[1:])
        out.append(f"## {title} {{#tag-{tag}}}\n\n{descriptions.get(tag, '')}\n\n")
        for method, path, operation, shared in by_tag[tag]:
            out.append(_operation(api, method, path, operation, shared["parameters"]))
    schemas = document.get("components", {}).get("schemas", {})
    if schemas:
        out.append("## Schemas\n\n")
        for name, schema in schemas.items():
            out.append(f"### {name} {{#schema-{name.lower()}}}\n\n")
            if schema.get("description"):
                out.append(f"{schema['description']}\n\n")
            out.append(f"Type: {api.type_of(schema)}.\n\n")
            for part in schema.get("allOf", []):
                if api.ref_name(part):
                    out.append(f"Also: {api.type_of(part)}.\n\n")
            for key in ("oneOf", "anyOf"):
                if key in schema:
                    out.append("One of: " + ", ".join(api.type_of(option) for option in schema[key]) + ".\n\n")
            lines = _schema_lines(api, schema)
            for part in schema.get("allOf", []):
                if not api.ref_name(part) and isinstance(part, dict):
                    lines += _schema_lines(api, part)
            out += lines
            out.append("\n" if lines else "")
    return "".join(out)


def _operation(api: OpenApi, method: str, path: str, operation: dict, shared: list) -> str:
    anchor = _operation_anchor(method, path, operation)
    out = [f"### `{method.upper()} {path}` {{#{anchor}}}\n\n"]
    if operation.get("summary"):
        out.append(f"**{operation['summary']}.**\n\n" if not operation["summary"].endswith(".")
                   else f"**{operation['summary']}**\n\n")
    if operation.get("description"):
        out.append(f"{operation['description']}\n\n")
    if "security" in operation:
        ways = []
        for requirement in operation["security"]:
            ways.append(" and ".join(f"[`{name}`](#authentication)" for name in requirement)
                        or "none in a header (client credentials in the body, where the operation takes them)")
        out.append(f"Authentication: {', or '.join(ways) if ways else 'none'}.\n\n")
    parameters = [api.resolve(p) for p in [*shared, *operation.get("parameters", [])]]
    if parameters:
        out.append("**Parameters**\n\n")
        for parameter in parameters:
            flags = "required" if parameter.get("required") else "optional"
            schema = parameter.get("schema", {})
            out.append(f"- `{parameter['name']}` ({parameter.get('in')}, {api.type_of(schema)}, {flags})"
                       + (f": {_indented(parameter['description'])}" if parameter.get("description") else "") + "\n")
        out.append("\n")
    if "requestBody" in operation:
        body = api.resolve(operation["requestBody"])
        out.append("**Request body**" + (" (required)" if body.get("required") else "") + "\n\n")
        description = operation["requestBody"].get("description") or body.get("description")
        if description:
            out.append(f"{description}\n\n")
        for media, content in body.get("content", {}).items():
            out.append(f"- `{media}`: {api.type_of(content.get('schema', {}))}\n")
        out.append("\n")
        examples = next((content.get("examples") for content in body.get("content", {}).values()
                         if content.get("examples")), None)
        if examples:
            for example in examples.values():
                example = api.resolve(example)
                if "value" in example:
                    out.append(f"Example: {example.get('summary', '')}\n\n{_json_block(example['value'])}\n")
        else:
            example = next((content["example"] for content in body.get("content", {}).values() if "example" in content), None)
            if example is not None:
                out.append(f"Example:\n\n{_json_block(example)}\n")
    responses = operation.get("responses", {})
    if responses:
        out.append("**Responses**\n\n")
        for status, reference in responses.items():
            response = api.resolve(reference)
            kinds = [f"`{media}` {api.type_of(content.get('schema', {}))}".rstrip()
                     for media, content in response.get("content", {}).items()]
            headers = list(response.get("headers", {}))
            # A reference's own description (OpenAPI 3.1) says what this operation means by it.
            text = reference.get("description") or response.get("description", "")
            extra = []
            if kinds:
                extra.append(", ".join(kinds))
            if headers:
                extra.append("headers " + ", ".join(f"`{h}`" for h in headers))
            out.append(f"- **{status}**: {_indented(text)}" + (f" ({'; '.join(extra)})" if extra else "") + "\n")
        out.append("\n")
    return "".join(out)


# --- the event catalogue: astapa/domain/ ----------------------------------------------------

BASE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def _type_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _aggregates() -> list[tuple[str, type]]:
    from eventsourcing.domain import Aggregate

    import astapa.domain

    found = []
    for module_info in sorted(pkgutil.iter_modules(astapa.domain.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"astapa.domain.{module_info.name}")
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, Aggregate) and cls.__module__ == module.__name__:
                found.append((module_info.name, cls))
    return found


def _events_of(aggregate: type) -> list[tuple[str, type, list[tuple[str, str]], str]]:
    from eventsourcing import domain as es

    decorated = getattr(es, "decorated_funcs", {})
    events = []
    for name, event in vars(aggregate).items():
        if not (inspect.isclass(event) and issubclass(event, es.CanMutateAggregate)) or name == "Event":
            continue
        fields = [(f.name, _type_text(f.type)) for f in dataclasses.fields(event) if f.name not in BASE_FIELDS] \
            if dataclasses.is_dataclass(event) else []
        method = decorated.get(event)
        doc = inspect.getdoc(method) if method is not None else None
        if method is None and not fields and name == "Created":
            continue  # the library's implicit creation event, unused when __init__ is another event
        events.append((name, event, fields, doc or ""))
    return events


def events_page() -> str:
    out = [GENERATED_NOTE.format(source="astapa/domain/"), "# Event catalogue\n\n",
           "Every change to Astapa's state is one of these events, appended to the event store\n",
           "(`DATA_DIR/events.db`). `scripts/export_events.py` writes them as JSON Lines, each with\n",
           "`position`, `type` (`Aggregate.Event`, as named below), `aggregate_id`, `version`,\n",
           "`timestamp` and the fields listed here. No event holds a password, a raw token, a raw\n",
           "code or a raw client secret: fields ending in `_hash` hold a SHA-256 (passwords a\n",
           "bcrypt hash).\n\n",
           "Every event also carries the aggregate's id, its version after the event and the time\n",
           "it was recorded.\n\n"]
    aggregates = _aggregates()
    out.append("| Aggregate | Events |\n| --- | --- |\n")
    for _, aggregate in aggregates:
        names = ", ".join(f"[{name}](#{aggregate.__name__.lower()}-{name.lower()})" for name, *_ in _events_of(aggregate))
        out.append(f"| [{aggregate.__name__}](#{aggregate.__name__.lower()}) | {names} |\n")
    out.append("\n")
    for module, aggregate in aggregates:
        doc = inspect.getdoc(aggregate) or ""
        if doc == inspect.getdoc(aggregate.__mro__[1]):
            doc = ""
        out.append(f"## {aggregate.__name__} {{#{aggregate.__name__.lower()}}}\n\n")
        if doc:
            out.append(f"{doc}\n\n")
        out.append(f"Defined in `astapa/domain/{module}.py`.\n\n")
        for name, _, fields, event_doc in _events_of(aggregate):
            out.append(f"### {aggregate.__name__}.{name} {{#{aggregate.__name__.lower()}-{name.lower()}}}\n\n")
            if event_doc:
                out.append(f"{event_doc}\n\n")
            if fields:
                out += [f"- `{field}`: `{kind}`\n" for field, kind in fields]
                out.append("\n")
            else:
                out.append("No fields beyond the aggregate's id, version and time.\n\n")
    return "".join(out)


# --- the MkDocs hook ------------------------------------------------------------------------

PAGES: dict[str, Callable[[], str]] = {
    "reference/configuration.md": configuration_page,
    "reference/cli.md": cli_page,
    "reference/http-api.md": http_api_page,
    "reference/events.md": events_page,
}


def on_files(files, config):
    from mkdocs.structure.files import File

    for uri, build in PAGES.items():
        if files.get_file_from_path(uri) is not None:
            log.warning("docs/%s exists, but the hook generates that page: delete the file", uri)
            files.remove(files.get_file_from_path(uri))
        files.append(File.generated(config, uri, content=build()))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print one generated reference page.")
    parser.add_argument("page", choices=sorted(Path(uri).stem for uri in PAGES))
    args = parser.parse_args(argv)
    build = next(build for uri, build in PAGES.items() if Path(uri).stem == args.page)
    sys.stdout.write(build())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
