"""One frozen Settings for the service, from flags and their ASTAPA_* twins.

Every option is documented once, here; the README's table mirrors it. A bad value raises
ConfigError with one line that the CLI prints before exiting with status 2.
"""

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from astapa.store.files import private_directory


class ConfigError(Exception):
    """A configuration value is unusable; the message is one line for stderr."""


@dataclass(frozen=True)
class Settings:
    # Interface to listen on (--host, ASTAPA_HOST).
    host: str = "127.0.0.1"
    # TCP port (--port, ASTAPA_PORT).
    port: int = 8080
    # Directory for events.db, read.db, keys/ and outbox/ (--data-dir, ASTAPA_DATA_DIR).
    # With a PostgreSQL store, only this node's read models and outbox.
    data_dir: Path = Path("var")
    # The event store and every other piece of state several servers share (signing keys,
    # project secrets, throttle counts, who runs the one-time jobs), in PostgreSQL
    # (--store, ASTAPA_STORE_URL: postgresql://user:password@host:port/dbname); None: SQLite
    # files under the data dir. Secrets kept there are sealed with ASTAPA_SECRET_KEY (at
    # least 32 characters), which every node sharing the store is given.
    store_url: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    # Server processes on the one port and data dir (--workers, ASTAPA_WORKERS); `worker`
    # is this process's slot (1..workers) when there are several, 0 when it serves alone.
    workers: int = 1
    worker: int = 0
    # The issuer URL that tokens and metadata carry (--issuer, ASTAPA_ISSUER);
    # default http://HOST:PORT. Never taken from a request's Host header.
    issuer: str = "http://127.0.0.1:8080"
    # How often the server polls the event log for writes made by other processes
    # (ASTAPA_POLL_INTERVAL, seconds).
    poll_interval: float = 0.2
    # Lifetime of access tokens unless a client says otherwise (seconds).
    access_token_ttl: int = 3600
    # How long a read-your-writes wait for the projections may take (seconds).
    projection_wait: float = 5.0
    # bcrypt work factor for passwords (--bcrypt-cost, ASTAPA_BCRYPT_COST), 10 to 16.
    bcrypt_cost: int = 12
    # The bcrypt pool (one thread per core): hashes (sign-ups, password resets) run on at
    # most half its threads (at least one), so with two cores or more sign-in checks always
    # have the rest. At most this many hashes, and separately this many sign-in checks, wait
    # for a thread (ASTAPA_BCRYPT_HASH_QUEUE, ASTAPA_BCRYPT_CHECK_QUEUE); past that the page
    # answers 429 with Retry-After at once.
    bcrypt_hash_queue: int = 16
    bcrypt_check_queue: int = 64
    # Create (once) the demo project and its pages under /demo (--demo).
    demo: bool = False
    # Who may use the console at /dashboard (--console-signup, ASTAPA_CONSOLE_SIGNUP):
    # "invite" (instance admins and invited members) or "open" (anyone who signs up there,
    # creating projects of their own: a hosted service).
    console_signup: str = "invite"
    # Lifetimes in seconds: authorization codes; refresh tokens idle and absolute;
    # hosted-page sessions idle and absolute.
    code_ttl: int = 60
    refresh_idle_ttl: int = 30 * 86400
    refresh_absolute_ttl: int = 90 * 86400
    session_idle_ttl: int = 3600
    session_absolute_ttl: int = 10 * 3600
    # Sign-in throttling: failures per account (any source) and per client IP in the window.
    login_failures_per_account: int = 10
    login_failures_per_ip: int = 100
    login_failure_window: int = 15 * 60
    # How many keys a throttle keeps: the per-account sign-in throttle, and each other
    # throttle (client addresses, mail recipients, client ids), every one in its own table.
    # A full table forgets first the keys whose failures have all left the window, then those
    # with the fewest failures; a locked key (at its limit) only once every key is locked, so
    # a flood of new accounts or addresses does not lift a lockout.
    throttle_accounts: int = 100_000
    throttle_keys: int = 100_000
    # Token endpoint throttling per client_id and source address: failed client
    # authentications, and refused codes or refresh tokens, in the window.
    client_auth_failures: int = 20
    grant_failures: int = 100
    token_failure_window: int = 5 * 60
    # Outgoing mail: SMTP server URL (ASTAPA_SMTP_URL; smtp://, smtp+starttls://, smtps://,
    # credentials in the URL), else .eml files under DATA_DIR/outbox/; the From address
    # (ASTAPA_MAIL_FROM, default no-reply@ the issuer's host).
    smtp_url: str | None = None
    mail_from: str | None = None
    # How often the scheduler looks for mail that is due (seconds); retries back off from
    # mail_retry_base doubling up to mail_retry_max (seconds).
    mail_interval: float = 1.0
    mail_retry_base: float = 30.0
    mail_retry_max: float = 3600.0
    # Mailed links: lifetimes (seconds) of email verification, password reset, magic links.
    verify_link_ttl: int = 24 * 3600
    reset_link_ttl: int = 15 * 60
    magic_link_ttl: int = 15 * 60
    # Action mails (verification at sign-up included) per address per hour
    # (ASTAPA_MAILS_PER_ADDRESS_PER_HOUR), and per client IP that caused them, whatever the
    # addresses (ASTAPA_MAILS_PER_IP_PER_HOUR): past either, nothing is sent and the page
    # answers the same. Requests for them (forgot password, magic link, resend) per client IP
    # per hour (past it, 429 with Retry-After).
    mails_per_address: int = 5
    mails_per_ip: int = 30
    link_requests_per_ip: int = 60
    mail_window: int = 3600
    # Xendit (ASTAPA_XENDIT_SECRET_KEY, ASTAPA_XENDIT_CALLBACK_TOKEN, ASTAPA_XENDIT_API_URL):
    # the secret key (xnd_development_… for sandbox projects, xnd_production_… for live
    # ones), the webhook verification token, and the API's base URL.
    xendit_secret_key: str | None = None
    xendit_callback_token: str | None = None
    xendit_api_url: str = "https://api.xendit.co"
    xendit_timeout: float = 20.0
    # A payment waits this long for the payer (seconds); one pending longer than
    # reconcile_after is asked about at Xendit (a lost webhook still settles).
    payment_ttl: int = 3600
    reconcile_after: int = 300
    # Google and GitHub sign-in (ASTAPA_GOOGLE_DISCOVERY_URL, ASTAPA_GITHUB_URL,
    # ASTAPA_GITHUB_API_URL): where the providers are; tests point them at fakes. Each
    # call to a provider gives up after provider_timeout seconds.
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    github_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    provider_timeout: float = 10.0
    # Google and GitHub sign-ins started per client IP per hour (each is an event).
    external_sign_ins_per_ip: int = 300
    # Client ID Metadata Documents and private_key_jwt clients' jwks_uri are fetched over
    # https from public addresses only; ASTAPA_CIMD_ALLOW_HTTP_LOOPBACK=1 also allows http
    # and https to loopback addresses (for tests). Each fetch gives up after
    # client_document_timeout seconds or client_document_max_bytes bytes.
    cimd_allow_http_loopback: bool = False
    # The CA certificates (PEM file) those https fetches trust instead of the system's
    # (ASTAPA_CIMD_CA_FILE): a private CA, or a test's own.
    cimd_ca_file: str | None = None
    client_document_timeout: float = 5.0
    client_document_max_bytes: int = 64 * 1024
    # Webhook URLs must be https on public addresses (checked again at each delivery);
    # ASTAPA_WEBHOOK_ALLOW_HTTP_LOOPBACK=1 also allows http and https to loopback addresses
    # (for tests). Each delivery attempt gives up after webhook_timeout seconds.
    webhook_allow_http_loopback: bool = False
    webhook_timeout: float = 10.0
    # RFC 7591 registrations per client IP per hour, at projects that take them.
    registrations_per_ip: int = 10
    # Sign-ups (each a bcrypt hash and a verification mail) per hour: per client IP
    # (ASTAPA_SIGNUPS_PER_IP_PER_HOUR), and per project from all addresses together
    # (ASTAPA_SIGNUPS_PER_PROJECT_PER_HOUR); past either, 429 with Retry-After. The overall
    # limit is per project, so a flood at one project never stops sign-ups at another; the
    # bounded bcrypt queue keeps the whole service's hashing bounded.
    signups_per_ip: int = 20
    signups_per_project: int = 1000
    # Console limits per console user and hour: invitations sent (each a mail to an address
    # the user chose) and projects created (with --console-signup open, anyone may).
    console_invites_per_hour: int = 50
    console_projects_per_hour: int = 20
    # The bearer token that opens GET /metrics to clients other than loopback ones
    # (ASTAPA_METRICS_TOKEN, at least 16 characters); unset, only loopback clients get it.
    metrics_token: str | None = None

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def read_db(self) -> Path:
        """This process's read models: each worker follows the log into its own."""
        return self.data_dir / (f"read-{self.worker}.db" if self.worker else "read.db")

    @property
    def shared_store(self) -> bool:
        """Other server processes write the same store: workers, or a cluster's nodes."""
        return self.workers > 1 or self.store_url is not None

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


def env_default(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def parse_port(value: str | int) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"port must be a number from 1 to 65535, got {value!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"port must be a number from 1 to 65535, got {value!r}")
    return port


def parse_issuer(value: str) -> str:
    """An absolute http(s) URL with no query or fragment; a trailing slash is dropped."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"issuer must be an absolute http(s) URL without query or fragment, got {value!r}"
        )
    return value.rstrip("/")


def prepare_data_dir(value: str | Path) -> Path:
    """Create the data directory if needed, this user's only (0700) whatever the umask,
    and prove it is writable."""
    path = Path(value)
    try:
        private_directory(path)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ConfigError(f"data dir {str(path)!r} is not writable: {e.strerror or e}") from None
    return path


def load_settings(
    host: str | None = None,
    port: str | int | None = None,
    data_dir: str | None = None,
    issuer: str | None = None,
    demo: bool = False,
    bcrypt_cost: str | int | None = None,
    console_signup: str | None = None,
    store_url: str | None = None,
    workers: str | int | None = None,
) -> Settings:
    """Flags win over ASTAPA_* variables, which win over defaults."""
    host = host or env_default("ASTAPA_HOST", "127.0.0.1")
    port_number = parse_port(port if port is not None else env_default("ASTAPA_PORT", "8080"))
    directory = prepare_data_dir(data_dir or env_default("ASTAPA_DATA_DIR", "var"))
    issuer_value = issuer or env_default("ASTAPA_ISSUER")
    if issuer_value is None:
        display_host = f"[{host}]" if ":" in host else host
        issuer_value = f"http://{display_host}:{port_number}"
    poll = env_default("ASTAPA_POLL_INTERVAL", "0.2")
    try:
        poll_interval = float(poll)
    except ValueError:
        raise ConfigError(f"ASTAPA_POLL_INTERVAL must be a number of seconds, got {poll!r}") from None
    if not 0 < poll_interval <= 5:
        raise ConfigError("ASTAPA_POLL_INTERVAL must be more than 0 and at most 5 seconds")
    store = store_url or env_default("ASTAPA_STORE_URL")
    secret_key = env_default("ASTAPA_SECRET_KEY")
    parse_store(store, secret_key)
    worker_count = parse_count("--workers", workers if workers is not None else env_default("ASTAPA_WORKERS", "1"),
                               most=MAX_WORKERS)
    return Settings(
        host=host,
        port=port_number,
        data_dir=directory,
        store_url=store,
        secret_key=secret_key if store else None,
        workers=worker_count,
        worker=parse_worker_slot(env_default("ASTAPA_WORKER_SLOT"), worker_count),
        issuer=parse_issuer(issuer_value),
        poll_interval=poll_interval,
        demo=demo,
        console_signup=parse_console_signup(console_signup or env_default("ASTAPA_CONSOLE_SIGNUP", "invite")),
        bcrypt_cost=parse_bcrypt_cost(
            bcrypt_cost if bcrypt_cost is not None else env_default("ASTAPA_BCRYPT_COST", "12")),
        smtp_url=parse_smtp_setting(env_default("ASTAPA_SMTP_URL")),
        mail_from=env_default("ASTAPA_MAIL_FROM"),
        mails_per_address=parse_count("ASTAPA_MAILS_PER_ADDRESS_PER_HOUR",
                                      env_default("ASTAPA_MAILS_PER_ADDRESS_PER_HOUR", "5")),
        mails_per_ip=parse_count("ASTAPA_MAILS_PER_IP_PER_HOUR", env_default(
            "ASTAPA_MAILS_PER_IP_PER_HOUR", str(Settings.mails_per_ip)), most=100_000),
        signups_per_ip=parse_count("ASTAPA_SIGNUPS_PER_IP_PER_HOUR", env_default(
            "ASTAPA_SIGNUPS_PER_IP_PER_HOUR", str(Settings.signups_per_ip)), most=100_000),
        signups_per_project=parse_count("ASTAPA_SIGNUPS_PER_PROJECT_PER_HOUR", env_default(
            "ASTAPA_SIGNUPS_PER_PROJECT_PER_HOUR", str(Settings.signups_per_project)), most=100_000),
        bcrypt_hash_queue=parse_count("ASTAPA_BCRYPT_HASH_QUEUE", env_default(
            "ASTAPA_BCRYPT_HASH_QUEUE", str(Settings.bcrypt_hash_queue)), most=10_000),
        bcrypt_check_queue=parse_count("ASTAPA_BCRYPT_CHECK_QUEUE", env_default(
            "ASTAPA_BCRYPT_CHECK_QUEUE", str(Settings.bcrypt_check_queue)), most=10_000),
        xendit_secret_key=env_default("ASTAPA_XENDIT_SECRET_KEY"),
        xendit_callback_token=env_default("ASTAPA_XENDIT_CALLBACK_TOKEN"),
        xendit_api_url=parse_api_url("ASTAPA_XENDIT_API_URL",
                                     env_default("ASTAPA_XENDIT_API_URL", "https://api.xendit.co")),
        google_discovery_url=parse_api_url("ASTAPA_GOOGLE_DISCOVERY_URL", env_default(
            "ASTAPA_GOOGLE_DISCOVERY_URL", Settings.google_discovery_url), query_allowed=True),
        github_url=parse_api_url("ASTAPA_GITHUB_URL", env_default("ASTAPA_GITHUB_URL", Settings.github_url)),
        github_api_url=parse_api_url("ASTAPA_GITHUB_API_URL",
                                     env_default("ASTAPA_GITHUB_API_URL", Settings.github_api_url)),
        cimd_allow_http_loopback=parse_flag("ASTAPA_CIMD_ALLOW_HTTP_LOOPBACK",
                                            env_default("ASTAPA_CIMD_ALLOW_HTTP_LOOPBACK", "0")),
        webhook_allow_http_loopback=parse_flag("ASTAPA_WEBHOOK_ALLOW_HTTP_LOOPBACK",
                                               env_default("ASTAPA_WEBHOOK_ALLOW_HTTP_LOOPBACK", "0")),
        cimd_ca_file=parse_file("ASTAPA_CIMD_CA_FILE", env_default("ASTAPA_CIMD_CA_FILE")),
        metrics_token=parse_metrics_token(env_default("ASTAPA_METRICS_TOKEN")),
    )


SECRET_KEY_LENGTH = 32
MAX_WORKERS = 64


def parse_worker_slot(value: str | None, workers: int) -> int:
    """The slot a supervisor gave this worker (astapa/workers.py); 0: not a worker."""
    if value is None or workers == 1:
        return 0
    if not value.isdecimal() or not 1 <= int(value) <= workers:
        raise ConfigError(f"ASTAPA_WORKER_SLOT must be from 1 to {workers}, got {value!r}")
    return int(value)


def parse_store(url: str | None, secret_key: str | None,
                secret_key_needed: bool = True) -> tuple[str | None, str | None]:
    """A PostgreSQL store URL and the key sealing the secrets kept there; (None, None) for
    SQLite under the data dir. A CLI command that reads no secret needs no key; a server
    and a command that reads or writes secrets do (SecretBox refuses to run without one)."""
    if url is None:
        return None, None
    from astapa.store.postgres import store_env  # psycopg only when asked for

    try:
        store_env(url)
    except ValueError as e:
        raise ConfigError(f"--store: {e}") from None
    if secret_key is None and not secret_key_needed:
        return url, None
    if secret_key is None or len(secret_key) < SECRET_KEY_LENGTH:
        raise ConfigError(f"a PostgreSQL store needs ASTAPA_SECRET_KEY, at least {SECRET_KEY_LENGTH} characters"
                          " (e.g. `openssl rand -base64 32`): it seals the secrets kept in the store")
    return url, secret_key


def parse_console_signup(value: str) -> str:
    if value not in ("invite", "open"):
        raise ConfigError(f"--console-signup must be invite or open, got {value!r}")
    return value


METRICS_TOKEN_LENGTH = 16


def parse_metrics_token(value: str | None) -> str | None:
    """Long enough not to be guessed: it opens the metrics to any address."""
    if value is not None and len(value) < METRICS_TOKEN_LENGTH:
        raise ConfigError(f"ASTAPA_METRICS_TOKEN must be at least {METRICS_TOKEN_LENGTH} characters")
    return value


def parse_file(name: str, value: str | None) -> str | None:
    if value is not None and not os.path.isfile(value):
        raise ConfigError(f"{name} must name a readable file, got {value!r}")
    return value


def parse_flag(name: str, value: str | None) -> bool:
    if value in ("1", "true", "yes"):
        return True
    if value in (None, "0", "false", "no"):
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {value!r}")


def parse_api_url(name: str, value: str, query_allowed: bool = False) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment \
            or (parts.query and not query_allowed):
        raise ConfigError(f"{name} must be an absolute http(s) URL, got {value!r}")
    return value if query_allowed else value.rstrip("/")


def parse_smtp_setting(value: str | None) -> str | None:
    if value is not None:
        parse_smtp_url(value)
    return value


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # implicit TLS from the first byte (smtps://)
    start_tls: bool | None  # True: required; None: when the server offers it


SCHEMES = {"smtp": (25, False, None), "smtp+starttls": (587, False, True), "smtps": (465, True, False)}


def parse_smtp_url(url: str) -> SmtpTarget:
    """smtp://[user:password@]host[:port] (STARTTLS when offered), smtp+starttls:// (STARTTLS
    required), smtps:// (TLS from the start). User and password are percent-decoded."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"ASTAPA_SMTP_URL is not a URL: {url!r}") from None
    if parts.scheme not in SCHEMES or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        raise ConfigError("ASTAPA_SMTP_URL must look like smtp://[user:password@]host[:port] "
                          "(or smtp+starttls://, smtps://)")
    default_port, use_tls, start_tls = SCHEMES[parts.scheme]
    return SmtpTarget(
        hostname=parts.hostname, port=port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls, start_tls=start_tls,
    )


def parse_count(name: str, value: str | None, most: int = 1000) -> int:
    try:
        count = int(value or "")
    except ValueError:
        count = 0
    if not 1 <= count <= most:
        raise ConfigError(f"{name} must be a whole number from 1 to {most}, got {value!r}")
    return count


def parse_bcrypt_cost(value: str | int) -> int:
    try:
        cost = int(value)
    except (TypeError, ValueError):
        cost = 0
    if not 10 <= cost <= 16:
        raise ConfigError(f"bcrypt cost must be a whole number from 10 to 16, got {value!r}")
    return cost
