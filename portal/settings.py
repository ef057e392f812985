"""Typed settings, read from the environment here and nowhere else.

Every setting is declared once in ``SETTINGS`` with its environment variable, default
and description; the README's configuration table is checked against this list by a
test. A bad value raises ``SettingsError`` with one line that names the variable.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """A setting has a value the portal cannot start with."""


@dataclass(frozen=True)
class Setting:
    env: str
    default: str | None
    description: str


SETTINGS: tuple[Setting, ...] = (
    Setting("PORTAL_BASE_URL", "http://127.0.0.1:8000", "Public URL of this installation (studio and default portal URLs)."),
    Setting("PORTAL_DATA_DIR", "./data", "Directory for runtime state: SQLite database, uploaded files, generated secret key."),
    Setting("DATABASE_URL", None, "Database. Default: SQLite file `portal.sqlite3` in the data dir; `postgresql://user:pass@host/db` selects PostgreSQL."),
    Setting("PORTAL_SECRET_KEY", None, "Secret for signing (CSRF). If unset, one is generated once and kept in `<data dir>/secret_key` (mode 0600)."),
    Setting("PORTAL_SECRET_KEY_FILE", None, "Path of a file holding the secret key (container secrets); wins over PORTAL_SECRET_KEY."),
    Setting("PORTAL_BACKUP_DIR", None, "Where `portal backup` writes its archives. Default: `<data dir>/backups`."),
    Setting("PORTAL_BACKUP_HOURS", "24", "The server makes a backup (as `portal backup` does) when the newest archive is this many hours old; 0 turns scheduled backups off."),
    Setting("PORTAL_BACKUP_KEEP", "7", "How many archives `portal backup` keeps in the backup dir (older ones are removed after a new one is written; 1-1000)."),
    Setting("PORTAL_ENV", "development", "`development` or `production`. Production refuses an http base URL other than localhost."),
    Setting("PORTAL_LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING or ERROR."),
    Setting("PORTAL_WORKERS", "0", "Server worker processes for `portal serve`; 0 means one per CPU core."),
    Setting("PORTAL_SQLITE_READERS", "4", "Persistent SQLite reader threads per worker (1-32) for long reads; writes share one connection."),
    Setting("PORTAL_READ_CACHE_ROWS", "20000", "Rows of the frequent reads each worker keeps while nothing is committed, on SQLite and PostgreSQL (0-1000000; 0 turns the read cache off)."),
    Setting("PORTAL_MAX_UPLOAD_MB", "200", "Largest accepted upload, in megabytes."),
    Setting("PORTAL_MAX_IMAGE_PIXELS", "40000000", "Largest image (width x height) shown inline or made into a thumbnail; a larger one is kept as a download only, and refused as a logo."),
    Setting("PORTAL_HSTS_SECONDS", "31536000", "`Strict-Transport-Security` max-age sent when the base URL is https (0 sends none)."),
    Setting("PORTAL_SESSION_IDLE_MINUTES", "720", "A session ends after this many minutes without a request."),
    Setting("PORTAL_SESSION_MAX_DAYS", "30", "A session ends this many days after login, whatever its use."),
    Setting("PORTAL_LOGIN_LINK_MINUTES", "15", "How long a magic login link stays valid."),
    Setting("PORTAL_INVITE_DAYS", "7", "How long an invite link stays valid."),
    Setting("SMTP_URL", None, "Outgoing mail: `smtp://user:pass@host:587` (STARTTLS), `smtps://...:465` (TLS) or `smtp+plain://host:25`. Unset: emails are printed to the log and kept in the outbox."),
    Setting("PORTAL_MAIL_FROM", "portal@localhost", "Sender address of all emails (the display name is the workspace's)."),
    Setting("PORTAL_TRUSTED_PROXIES", "", "Comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed (e.g. `127.0.0.1`)."),
    Setting("PORTAL_RATE_LIMIT_PER_EMAIL", "5", "Sign-in link requests allowed per email address per 15 minutes."),
    Setting("PORTAL_RATE_LIMIT_PER_IP", "20", "Sign-in link requests and link redemptions allowed per client IP per 15 minutes."),
    Setting("PORTAL_STRIPE_API_BASE", "https://api.stripe.com", "Where the `stripe` library sends API calls (each workspace's own keys, set in Settings -> Payments); only changed to point at a test server."),
    Setting("PORTAL_CNAME_TARGET", None, "The host a workspace's custom domain must be a CNAME of (shown in Settings -> Client portal -> Custom domain). Default: the base URL's host."),
    Setting("PORTAL_DNS_SERVERS", None, "DNS servers that Verify Domain asks: comma-separated `ip` or `ip:port` (IPv6 as `[ip]:port`). Default: the system's resolvers."),
    Setting("PORTAL_ACME_CA", "https://acme-v02.api.letsencrypt.org/directory", "`portal serve --with-caddy`: the ACME directory Caddy gets certificates from (Let's Encrypt by default)."),
    Setting("PORTAL_ACME_EMAIL", None, "`portal serve --with-caddy`: the email given to the ACME CA (expiry notices). Default: none."),
    Setting("PORTAL_ACME_CA_ROOT", None, "`portal serve --with-caddy`: a PEM file of the root that the ACME CA's own HTTPS certificate chains to, when it is not a public one (a test CA such as pebble)."),
    Setting("PORTAL_HTTP_PORT", "80", "`portal serve --with-caddy`: the port Caddy serves HTTP on (redirects to HTTPS, ACME challenges)."),
    Setting("PORTAL_HTTPS_PORT", "443", "`portal serve --with-caddy`: the port Caddy serves HTTPS on."),
    Setting("PORTAL_STORAGE_URL", None, "Where uploaded files are kept: unset for `<data dir>/blobs`, or `s3://bucket/prefix` for an S3-compatible bucket (several replicas share one). `portal storage migrate` copies the data dir's files into the bucket."),
    Setting("PORTAL_S3_ENDPOINT", None, "The bucket's S3 endpoint, e.g. `https://s3.eu-central-1.amazonaws.com` or a MinIO/R2 URL. Default: AWS for the region."),
    Setting("PORTAL_S3_REGION", "us-east-1", "The bucket's region."),
    Setting("PORTAL_S3_ACCESS_KEY_ID", None, "Access key of the bucket (read, write, delete, list). The bucket needs no public access."),
    Setting("PORTAL_S3_SECRET_ACCESS_KEY", None, "Secret of that access key."),
    Setting("PORTAL_S3_SECRET_ACCESS_KEY_FILE", None, "Path of a file holding that secret (container secrets); wins over PORTAL_S3_SECRET_ACCESS_KEY."),
    Setting("PORTAL_STORAGE_PRESIGN_SECONDS", "0", "With a bucket: videos, images and PDFs viewed in the page are fetched by the browser from the bucket through a presigned URL valid this many seconds (after the portal's access check), instead of through the portal; 0 streams everything through the portal. Downloads always go through the portal (their file name)."),
    Setting("PORTAL_LITESTREAM_URL", None, "SQLite only: `s3://bucket/path` makes `portal serve` run Litestream beside the server, replicating the database to that bucket within about a second (the PORTAL_S3_* settings give endpoint, region and key); `portal restore-replica` restores from it. Unset: no replication."),
    Setting("GOOGLE_CLIENT_ID", None, "OAuth client id for \"Sign in with Google\". Unset: the button is not shown."),
    Setting("GOOGLE_CLIENT_SECRET", None, "OAuth client secret for Google sign-in."),
    Setting("GOOGLE_DISCOVERY_URL", "https://accounts.google.com/.well-known/openid-configuration", "OpenID Connect discovery document of the sign-in provider."),
)

_ENV_NAMES = frozenset(s.env for s in SETTINGS)
_DEFAULTS = {s.env: s.default for s in SETTINGS}


def _int_in(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    base_url: str
    data_dir: Path
    database_url: str
    secret_key: str
    env: str
    log_level: str
    workers: int
    sqlite_readers: int
    read_cache_rows: int
    max_upload_bytes: int
    session_idle_minutes: int
    session_max_days: int
    login_link_minutes: int
    invite_days: int
    smtp_url: str | None
    mail_from: str
    trusted_proxies: tuple[str, ...]
    rate_limit_per_email: int
    rate_limit_per_ip: int
    google_client_id: str | None
    google_client_secret: str | None
    google_discovery_url: str
    max_image_pixels: int = 40_000_000
    hsts_seconds: int = 31_536_000
    stripe_api_base: str = "https://api.stripe.com"
    backup_dir: Path | None = None
    backup_keep: int = 7
    backup_hours: int = 24
    cname_target: str = ""
    dns_servers: tuple[tuple[str, int], ...] = ()
    acme_ca: str = "https://acme-v02.api.letsencrypt.org/directory"
    acme_email: str | None = None
    acme_ca_root: Path | None = None
    http_port: int = 80
    https_port: int = 443
    storage_url: str = ""
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = field(default="", repr=False)
    storage_presign_seconds: int = 0
    litestream_url: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def base_host(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def base_hostname(self) -> str:
        """The base URL's host name alone (no port), lower case."""
        return (urlsplit(self.base_url).hostname or "").lower()

    @property
    def caddy_dir(self) -> Path:
        """Caddy's Caddyfile, admin socket and certificate storage (``portal serve --with-caddy``)."""
        return self.data_dir / "caddy"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``); raise SettingsError."""
        environ = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            assert name in _ENV_NAMES, name
            value = environ.get(name)
            if value is None or value.strip() == "":
                return _DEFAULTS[name]
            return value.strip()

        base_url = get("PORTAL_BASE_URL").rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise SettingsError(
                f"PORTAL_BASE_URL must look like https://portal.example.com (no path), got {base_url!r}"
            )
        env = get("PORTAL_ENV")
        if env not in ("development", "production"):
            raise SettingsError(f"PORTAL_ENV must be 'development' or 'production', got {env!r}")
        if env == "production" and parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost"):
            raise SettingsError("PORTAL_BASE_URL must use https when PORTAL_ENV=production")

        data_dir = Path(get("PORTAL_DATA_DIR")).expanduser().resolve()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(f"PORTAL_DATA_DIR {str(data_dir)!r} cannot be created: {exc.strerror}") from None
        if not os.access(data_dir, os.W_OK):
            raise SettingsError(f"PORTAL_DATA_DIR {str(data_dir)!r} is not writable")

        database_url = get("DATABASE_URL") or f"sqlite:///{data_dir / 'portal.sqlite3'}"
        if database_url.startswith("postgres://"):
            database_url = "postgresql://" + database_url.removeprefix("postgres://")
        if not (database_url.startswith("sqlite:///") or database_url.startswith("postgresql://")):
            raise SettingsError(
                f"DATABASE_URL must start with postgresql:// or sqlite:///, got {database_url.split(':')[0]!r}"
            )

        log_level = get("PORTAL_LOG_LEVEL").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(f"PORTAL_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")

        return cls(
            base_url=base_url,
            data_dir=data_dir,
            database_url=database_url,
            secret_key=_secret_key(get, data_dir),
            env=env,
            log_level=log_level,
            workers=_int_in("PORTAL_WORKERS", get("PORTAL_WORKERS"), 0, 64),
            sqlite_readers=_int_in("PORTAL_SQLITE_READERS", get("PORTAL_SQLITE_READERS"), 1, 32),
            read_cache_rows=_int_in("PORTAL_READ_CACHE_ROWS", get("PORTAL_READ_CACHE_ROWS"), 0, 1_000_000),
            max_upload_bytes=_int_in("PORTAL_MAX_UPLOAD_MB", get("PORTAL_MAX_UPLOAD_MB"), 1, 10_000) * 1024 * 1024,
            session_idle_minutes=_int_in("PORTAL_SESSION_IDLE_MINUTES", get("PORTAL_SESSION_IDLE_MINUTES"), 5, 525_600),
            session_max_days=_int_in("PORTAL_SESSION_MAX_DAYS", get("PORTAL_SESSION_MAX_DAYS"), 1, 365),
            login_link_minutes=_int_in("PORTAL_LOGIN_LINK_MINUTES", get("PORTAL_LOGIN_LINK_MINUTES"), 1, 1440),
            invite_days=_int_in("PORTAL_INVITE_DAYS", get("PORTAL_INVITE_DAYS"), 1, 90),
            smtp_url=_smtp_url(get("SMTP_URL")),
            mail_from=_email("PORTAL_MAIL_FROM", get("PORTAL_MAIL_FROM")),
            trusted_proxies=_networks(get("PORTAL_TRUSTED_PROXIES")),
            rate_limit_per_email=_int_in("PORTAL_RATE_LIMIT_PER_EMAIL", get("PORTAL_RATE_LIMIT_PER_EMAIL"), 1, 10_000),
            rate_limit_per_ip=_int_in("PORTAL_RATE_LIMIT_PER_IP", get("PORTAL_RATE_LIMIT_PER_IP"), 1, 100_000),
            google_client_id=get("GOOGLE_CLIENT_ID"),
            google_client_secret=get("GOOGLE_CLIENT_SECRET"),
            google_discovery_url=_http_url("GOOGLE_DISCOVERY_URL", get("GOOGLE_DISCOVERY_URL")),
            max_image_pixels=_int_in("PORTAL_MAX_IMAGE_PIXELS", get("PORTAL_MAX_IMAGE_PIXELS"), 10_000, 1_000_000_000),
            hsts_seconds=_int_in("PORTAL_HSTS_SECONDS", get("PORTAL_HSTS_SECONDS"), 0, 63_072_000),
            stripe_api_base=_http_url("PORTAL_STRIPE_API_BASE", get("PORTAL_STRIPE_API_BASE")).rstrip("/"),
            backup_dir=Path(get("PORTAL_BACKUP_DIR") or data_dir / "backups").expanduser().resolve(),
            backup_keep=_int_in("PORTAL_BACKUP_KEEP", get("PORTAL_BACKUP_KEEP"), 1, 1000),
            backup_hours=_int_in("PORTAL_BACKUP_HOURS", get("PORTAL_BACKUP_HOURS"), 0, 8760),
            cname_target=_hostname("PORTAL_CNAME_TARGET", get("PORTAL_CNAME_TARGET") or parts.hostname or ""),
            dns_servers=_dns_servers(get("PORTAL_DNS_SERVERS")),
            acme_ca=_http_url("PORTAL_ACME_CA", get("PORTAL_ACME_CA")),
            acme_email=_email("PORTAL_ACME_EMAIL", get("PORTAL_ACME_EMAIL")) if get("PORTAL_ACME_EMAIL") else None,
            acme_ca_root=Path(get("PORTAL_ACME_CA_ROOT")).expanduser().resolve() if get("PORTAL_ACME_CA_ROOT") else None,
            http_port=_int_in("PORTAL_HTTP_PORT", get("PORTAL_HTTP_PORT"), 1, 65535),
            https_port=_int_in("PORTAL_HTTPS_PORT", get("PORTAL_HTTPS_PORT"), 1, 65535),
            storage_url=_s3_url("PORTAL_STORAGE_URL", get("PORTAL_STORAGE_URL"), "s3://bucket/prefix (or be unset for the data dir)"),
            s3_endpoint=_http_url("PORTAL_S3_ENDPOINT", get("PORTAL_S3_ENDPOINT")).rstrip("/") if get("PORTAL_S3_ENDPOINT") else "",
            s3_region=get("PORTAL_S3_REGION"),
            s3_access_key_id=get("PORTAL_S3_ACCESS_KEY_ID") or "",
            s3_secret_access_key=_file_or_value(get, "PORTAL_S3_SECRET_ACCESS_KEY") or "",
            litestream_url=_s3_url("PORTAL_LITESTREAM_URL", get("PORTAL_LITESTREAM_URL"), "s3://bucket/path"),
            storage_presign_seconds=_int_in("PORTAL_STORAGE_PRESIGN_SECONDS", get("PORTAL_STORAGE_PRESIGN_SECONDS"), 0, 604_800),
        )


def _s3_url(name: str, raw: str | None, shape: str) -> str:
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"{name} must look like {shape}, got {raw!r}")
    return f"s3://{parts.netloc}/{parts.path.strip('/')}".rstrip("/")


def _file_or_value(get: Callable[[str], str | None], name: str) -> str | None:
    """A secret given in ``<name>_FILE`` (a path, read here; it wins) or in ``name`` itself."""
    path = get(f"{name}_FILE")
    if path:
        try:
            return Path(path).expanduser().read_text().strip()
        except OSError as exc:
            raise SettingsError(f"{name}_FILE {path!r} cannot be read: {exc.strerror}") from None
    return get(name)


def _smtp_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps", "smtp+plain") or not parts.hostname:
        raise SettingsError(f"SMTP_URL must look like smtp://user:pass@host:587, got scheme {parts.scheme!r}")
    return raw


def _email(name: str, raw: str) -> str:
    if raw.count("@") != 1 or " " in raw:
        raise SettingsError(f"{name} must be an email address, got {raw!r}")
    return raw


def _http_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw


def child_environment() -> dict[str, str]:
    """The environment a child process of ours starts with (Caddy, the app under
    ``--with-caddy``): this process's own, read here like every setting."""
    return dict(os.environ)


def _hostname(name: str, raw: str) -> str:
    value = raw.strip().lower().rstrip(".")
    if not value or not all(part and len(part) <= 63 and part.replace("-", "").isalnum() for part in value.split(".")):
        raise SettingsError(f"{name} must be a host name such as portal.example.com, got {raw!r}")
    return value


def _dns_servers(raw: str | None) -> tuple[tuple[str, int], ...]:
    """``"10.0.0.2, 127.0.0.1:5353, [::1]:53"`` -> ``(("10.0.0.2", 53), ("127.0.0.1", 5353), ("::1", 53))``."""
    servers = []
    for item in (raw or "").split(","):
        item = item.strip()
        if not item:
            continue
        host, port = item, "53"
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":") or "53"
        elif item.count(":") == 1:
            host, port = item.split(":")
        try:
            ipaddress.ip_address(host)
            number = int(port)
        except ValueError:
            raise SettingsError(f"PORTAL_DNS_SERVERS must list IP addresses (ip or ip:port), got {item!r}") from None
        if not 1 <= number <= 65535:
            raise SettingsError(f"PORTAL_DNS_SERVERS: port out of range in {item!r}")
        servers.append((host, number))
    return tuple(servers)


def _networks(raw: str) -> tuple[str, ...]:
    import ipaddress

    items = tuple(item.strip() for item in raw.split(",") if item.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(f"PORTAL_TRUSTED_PROXIES has {item!r}, which is not an IP address or network") from None
    return items


def _secret_key(get: Callable[[str], str | None], data_dir: Path) -> str:
    key = _file_or_value(get, "PORTAL_SECRET_KEY")
    if key is None:
        key = _generated_key(data_dir)
    if len(key) < 32:
        raise SettingsError("PORTAL_SECRET_KEY must be at least 32 characters long")
    return key


def _generated_key(data_dir: Path) -> str:
    """Read the generated key, creating it (mode 0600) on first start."""
    path = data_dir / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
        handle.flush()
        os.fsync(handle.fileno())
    return path.read_text().strip()


#: prometheus-client's own variable: where each worker process writes its metrics.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def share_worker_metrics(directory: Path) -> None:
    """Before the workers start: they write their metrics to ``directory`` (emptied now)."""
    import shutil

    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[METRICS_DIR_ENV] = str(directory)


def worker_metrics_shared() -> bool:
    return bool(os.environ.get(METRICS_DIR_ENV))
