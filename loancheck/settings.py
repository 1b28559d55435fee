"""Configuration: one frozen ``Settings`` read once from ``LOANCHECK_*`` environment variables.

Every variable is declared exactly once in ``VARIABLES`` with its default and help text; the
README's configuration table and the docker-compose test are checked against that list.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PREFIX = "LOANCHECK_"


class ConfigError(Exception):
    """An environment variable has a value the platform cannot run with."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class Variable:
    name: str  # without the prefix
    attr: str
    default: str | None
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False

    @property
    def env(self) -> str:
        return PREFIX + self.name


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError("must be a whole number") from None


def _port(value: str) -> int:
    port = _int(value)
    if not 0 < port < 65536:
        raise ValueError("must be a TCP port between 1 and 65535")
    return port


def _positive_int(value: str) -> int:
    number = _int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = _int(value)
        if not low <= number <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return number

    return parse


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an absolute http:// or https:// URL")
    # Scheme and host are case-insensitive; keep one spelling so comparisons hold.
    normalised = parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower())
    return normalised.geturl().rstrip("/")


def _networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return tuple(ip_network(item, strict=False) for item in _list(value))
    except ValueError as exc:
        raise ValueError(f"must be IP addresses or CIDR ranges ({exc})") from None


def _database_url(value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
        raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    return value


def _redis_url(value: str) -> str | None:
    if not value:
        return None
    if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
        raise ValueError("must be a redis://, rediss:// or unix:// URL, or empty for in-memory")
    return value


def _object_store(value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in {"file", "s3"}:
        raise ValueError("must be file://PATH or s3://BUCKET")
    return value


def _ice_urls(value: str) -> tuple[str, ...]:
    urls = _list(value)
    for url in urls:
        if not url.startswith(("stun:", "turn:", "turns:")):
            raise ValueError(f"{url!r} is not a stun:, turn: or turns: URL")
    return urls


def _recorder_mode(value: str) -> str:
    if value not in {"inprocess", "workers"}:
        raise ValueError("must be inprocess or workers")
    return value


def _optional_http_url(value: str) -> str:
    return _http_url(value) if value else ""


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


VARIABLES: tuple[Variable, ...] = (
    Variable("HOST", "host", "127.0.0.1", "Address the HTTP server binds to.", str),
    Variable("PORT", "port", "8080", "HTTP port (the plain `PORT` variable also works).", _port),
    Variable(
        "PUBLIC_URL",
        "public_url",
        None,
        "Base URL users reach the platform at: QR labels, invite, 整改 and 自检 links and the "
        "signed URLs of photos, videos and recordings are built on it, and https gets a "
        "`__Host-` Secure cookie. Unset: the address the server listens on, "
        "`http(s)://HOST:PORT` (https when TLS is on; HOST `0.0.0.0` or `::` gives this "
        "machine's LAN address). Set: only its origin and ALLOWED_ORIGINS may send "
        "state-changing requests and open WebSockets.",
        _http_url,
    ),
    Variable(
        "ALLOWED_ORIGINS",
        "allowed_origins",
        "",
        "Extra origins (comma-separated) allowed to send state-changing requests and open "
        "WebSockets; the public URL's origin is always allowed.",
        _list,
    ),
    Variable(
        "TRUSTED_PROXIES",
        "trusted_proxies",
        "",
        "Reverse proxies (comma-separated IPs or CIDRs) whose `X-Forwarded-For` names the "
        "client; needed behind a proxy for per-IP login limits and the audit trail.",
        _networks,
    ),
    Variable(
        "TLS_CERT",
        "tls_cert",
        "",
        "PEM certificate (chain) to serve https with; phones need https for the camera.",
    ),
    Variable("TLS_KEY", "tls_key", "", "PEM private key of TLS_CERT."),
    Variable(
        "TLS_SELF_SIGNED",
        "tls_self_signed",
        "false",
        "Serve https with a self-signed certificate generated into `DATA_DIR/tls/` (LAN trials).",
        _bool,
    ),
    Variable(
        "DATA_DIR",
        "data_dir",
        "var",
        "Folder for the embedded database, local objects and the generated secret key.",
        Path,
    ),
    Variable(
        "DATABASE_URL",
        "database_url",
        None,
        "SQLAlchemy async URL. Default: SQLite file `DATA_DIR/loancheck.db`; production: "
        "`postgresql+asyncpg://user:pass@host/db`.",
        _database_url,
    ),
    Variable(
        "REDIS_URL",
        "redis_url",
        "",
        "Redis for Socket.IO scale-out and cross-process locks; empty = in-memory (one process).",
        _redis_url,
    ),
    Variable(
        "REDIS_CHANNEL",
        "redis_channel",
        "",
        "Redis Pub/Sub channel the nodes' Socket.IO messages go through; empty = one derived "
        "from SECRET_KEY, so deployments that share a Redis never hear each other's calls.",
    ),
    Variable(
        "OBJECT_STORE",
        "object_store",
        None,
        "`file://PATH` (default `DATA_DIR/objects`) or `s3://BUCKET` for MinIO/S3.",
        _object_store,
    ),
    Variable("S3_ENDPOINT", "s3_endpoint", "", "S3/MinIO endpoint URL, e.g. `http://minio:9000`."),
    Variable(
        "S3_PUBLIC_ENDPOINT",
        "s3_public_endpoint",
        "",
        "Where browsers reach the S3/MinIO server, if not at S3_ENDPOINT (presigned URLs use "
        "it), e.g. `https://files.bank.example`.",
    ),
    Variable("S3_ACCESS_KEY", "s3_access_key", "", "S3/MinIO access key.", str, secret=True),
    Variable("S3_SECRET_KEY", "s3_secret_key", "", "S3/MinIO secret key.", str, secret=True),
    Variable("S3_REGION", "s3_region", "us-east-1", "S3 region name."),
    Variable(
        "SECRET_KEY",
        "secret_key",
        "",
        "Key for signed URLs, QR labels and tokens. Empty: generated once into "
        "`DATA_DIR/secret_key`. Set the same value on every node in production.",
        str,
        secret=True,
    ),
    Variable(
        "SESSION_IDLE_MINUTES",
        "session_idle_minutes",
        "30",
        "Browser session idle timeout, in minutes.",
        _positive_int,
    ),
    Variable(
        "SESSION_MAX_HOURS",
        "session_max_hours",
        "12",
        "Browser session absolute lifetime, in hours.",
        _positive_int,
    ),
    Variable(
        "API_TOKEN_MAX_DAYS",
        "api_token_max_days",
        "90",
        "Longest lifetime of an API token, in days (1 to 3650): a token asks for at most this "
        "and one older than it stops working, whatever it asked for.",
        _int_between(1, 3650),
    ),
    Variable(
        "STUN_URLS",
        "stun_urls",
        "",
        "STUN servers handed to browsers (comma-separated `stun:host:port`).",
        _ice_urls,
    ),
    Variable(
        "TURN_URLS",
        "turn_urls",
        "",
        "TURN servers (comma-separated `turn:host:3478?transport=udp`), used with TURN_SECRET.",
        _ice_urls,
    ),
    Variable(
        "TURN_SECRET",
        "turn_secret",
        "",
        "coturn `static-auth-secret` for time-limited TURN credentials (REST API scheme).",
        str,
        secret=True,
    ),
    Variable(
        "TURN_TTL_SECONDS",
        "turn_ttl_seconds",
        "3600",
        "Lifetime of issued TURN credentials, in seconds.",
        _positive_int,
    ),
    Variable(
        "LOGIN_MAX_FAILURES",
        "login_max_failures",
        "5",
        "Failed logins per account before backoff starts (per IP: four times this).",
        _positive_int,
    ),
    Variable(
        "CHECKPOINT_RADIUS_METERS",
        "checkpoint_radius_m",
        "200",
        "Default tolerance radius (误差范围) of a checkpoint, in metres: an on-site check-in "
        "farther than this from the bound position is refused. Each checkpoint may override it.",
        _int_between(10, 10_000),
    ),
    Variable(
        "GPS_MAX_ACCURACY_METERS",
        "gps_max_accuracy_m",
        "100",
        "Worst accuracy a phone may report for a check-in's GPS fix, in metres; a fix "
        "reporting exactly 0 is refused as a mock location.",
        _int_between(1, 10_000),
    ),
    Variable(
        "GPS_MAX_AGE_SECONDS",
        "gps_max_age_seconds",
        "120",
        "Oldest GPS fix accepted at a check-in, in seconds (fix time against server time).",
        _int_between(5, 86_400),
    ),
    Variable(
        "RECORDER",
        "recorder_mode",
        "inprocess",
        "Who records calls: `inprocess` (each app node records, the embedded default) or "
        "`workers` (only `loancheck recorder` processes do; production).",
        _recorder_mode,
    ),
    Variable(
        "RECORDER_SIGNALING_URL",
        "recorder_signaling_url",
        "",
        "Where recorders reach Socket.IO signaling, e.g. `http://app:8080`; empty = this "
        "node's own listener.",
        _optional_http_url,
    ),
    Variable(
        "RECORDER_MAX_CALLS",
        "recorder_max_calls",
        "20",
        "Calls one recorder process records at once; more wait for another recorder.",
        _positive_int,
    ),
    Variable(
        "TASK_GENERATION_MINUTES",
        "task_generation_minutes",
        "60",
        "How often each node's task generator runs, in minutes (also at start and just after "
        "each Beijing midnight); with PostgreSQL one node generates at a time.",
        _int_between(1, 1440),
    ),
    Variable(
        "EVIDENCE_MAX_MB",
        "evidence_max_mb",
        "50",
        "Largest evidence file (photo, video or audio clip of an inspection) accepted, in MB.",
        _int_between(1, 1024),
    ),
    Variable(
        "ANOMALY_DEADLINE_HOURS",
        "anomaly_deadline_hours",
        "24",
        "Hours an exception handler has to take up (受理) a new anomaly; past them it is "
        "escalated to the handler of the org above, with a new deadline of the same length.",
        _int_between(1, 720),
    ),
    Variable(
        "SHEET_PRINT_HOURS",
        "sheet_print_hours",
        "72",
        "Hours after an inspection's first submission within which its briefing sheet "
        "(明白纸) must be printed; one second past them, unprinted, it locks (no printing, no "
        "上级管理条线意见) until an unlock is approved.",
        _int_between(1, 8760),
    ),
    Variable(
        "SHEET_UNLOCK_HOURS",
        "sheet_unlock_hours",
        "24",
        "Hours an approved unlock (解锁) opens the briefing sheet's print window again for.",
        _int_between(1, 720),
    ),
    Variable(
        "SHEET_UNLOCK_APPROVER_LEVELS",
        "sheet_unlock_approver_levels",
        "1",
        "Who approves an unlock request: the administrators of the org this many levels above "
        "the inspection's 支行 (1 = its 二级分行; 0 = the 支行's own administrators), or above "
        "them in the tree.",
        _int_between(0, 5),
    ),
    Variable(
        "RECTIFICATION_PHOTO_MAX_MB",
        "rectification_photo_max_mb",
        "10",
        "Largest photo an enterprise contact may attach to a rectification reply, in MB "
        "(JPEG, PNG, WebP or HEIC; at most 9 per reply).",
        _int_between(1, 50),
    ),
    Variable("LOG_LEVEL", "log_level", "INFO", "Log level.", _log_level),
)


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    public_url: str
    allowed_origins: tuple[str, ...]
    data_dir: Path
    database_url: str
    redis_url: str | None
    redis_channel: str
    object_store: str
    s3_endpoint: str
    s3_public_endpoint: str
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...]
    tls_cert: str
    tls_key: str
    tls_self_signed: bool
    s3_access_key: str
    s3_secret_key: str
    s3_region: str
    secret_key: str
    session_idle_minutes: int
    session_max_hours: int
    api_token_max_days: int
    stun_urls: tuple[str, ...]
    turn_urls: tuple[str, ...]
    turn_secret: str
    turn_ttl_seconds: int
    login_max_failures: int
    checkpoint_radius_m: int
    gps_max_accuracy_m: int
    gps_max_age_seconds: int
    recorder_mode: str
    recorder_signaling_url: str
    recorder_max_calls: int
    task_generation_minutes: int
    evidence_max_mb: int
    anomaly_deadline_hours: int
    sheet_print_hours: int
    sheet_unlock_hours: int
    sheet_unlock_approver_levels: int
    rectification_photo_max_mb: int
    log_level: str
    # First lockout after LOGIN_MAX_FAILURES, doubling per further failure (capped at 15 min).
    # Not configurable from the environment: tests shorten it to keep waits small.
    login_backoff_base_seconds: float = field(default=30.0)
    # How often each node re-checks the sessions behind its open console sockets, closing
    # those revoked elsewhere or gone idle/expired. Not configurable from the environment.
    console_sweep_seconds: float = field(default=30.0)
    call_hold_seconds: float = field(default=45.0)  # a dropped call slot is held for a rejoin
    # Recorder leases: renewed every lease/4; a worker silent for a lease is taken over.
    recorder_lease_seconds: float = field(default=8.0)
    recorder_segment_seconds: float = field(default=10.0)  # segments are cut about this long
    # How often each node looks for anomalies past their deadline (one node acts at a time).
    # Not configurable from the environment: tests shorten it.
    escalation_interval_seconds: float = field(default=60.0)
    # LOANCHECK_PUBLIC_URL was set (not derived from HOST/PORT): then it is the only origin,
    # with ALLOWED_ORIGINS, that state-changing requests and WebSockets may come from.
    public_url_explicit: bool = field(default=False)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def origins(self) -> frozenset[str]:
        return frozenset({self.public_origin, *self.allowed_origins})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse settings; raise ``ConfigError`` naming the first bad variable."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for var in VARIABLES:
            source, raw = var.env, env.get(var.env)
            if raw is None and var.name == "PORT" and "PORT" in env:
                source, raw = "PORT", env["PORT"]
            if raw is None:
                raw = var.default
            if raw is None:
                values[var.attr] = None
                continue
            try:
                values[var.attr] = var.parse(raw)
            except ValueError as exc:
                raise ConfigError(source, f"{exc} (got {raw!r})") from None
        data_dir: Path = values["data_dir"]
        if values["database_url"] is None:
            values["database_url"] = f"sqlite+aiosqlite:///{data_dir / 'loancheck.db'}"
        if values["object_store"] is None:
            values["object_store"] = (data_dir / "objects").resolve().as_uri()
        if values["object_store"].startswith("s3://"):
            for name in ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
                attr = name.lower()
                if not values[attr]:
                    raise ConfigError(PREFIX + name, "is required when OBJECT_STORE is s3://")
            for name in ("S3_ENDPOINT", "S3_PUBLIC_ENDPOINT"):
                value = values[name.lower()]
                try:
                    if value:
                        _http_url(value)
                except ValueError as exc:
                    raise ConfigError(PREFIX + name, str(exc)) from None
        if bool(values["tls_cert"]) != bool(values["tls_key"]):
            missing = "TLS_KEY" if values["tls_cert"] else "TLS_CERT"
            raise ConfigError(PREFIX + missing, "TLS_CERT and TLS_KEY go together")
        values["public_url_explicit"] = values["public_url"] is not None
        if values["public_url"] is None:
            tls = bool(values["tls_cert"]) or values["tls_self_signed"]
            values["public_url"] = listener_url(values["host"], values["port"], tls)
        if values["turn_urls"] and not values["turn_secret"]:
            raise ConfigError(PREFIX + "TURN_SECRET", "is required when TURN_URLS is set")
        return cls(**values)

    def with_secret(self) -> Settings:
        """Return settings with a secret key, generating ``DATA_DIR/secret_key`` when unset."""
        if self.secret_key:
            return self
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return replace(self, secret_key=path.read_text().strip())


def lan_address() -> str:
    """The IPv4 address this machine reaches other hosts from (what a phone on the same LAN
    can open), or ``127.0.0.1`` without a network. A UDP connect only picks the route: no
    packet is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


ANY_ADDRESS = frozenset({"", "0.0.0.0", "::"})


def listener_url(host: str, port: int, tls: bool) -> str:
    """The URL of the listener at ``host:port`` (the public URL when none is configured)."""
    scheme = "https" if tls else "http"
    name = lan_address() if host in ANY_ADDRESS else host.strip("[]")
    if ":" in name:
        name = f"[{name}]"
    default_port = 443 if tls else 80
    return _http_url(f"{scheme}://{name}" + ("" if port == default_port else f":{port}"))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings for a running process: parsed from the environment, with a secret key."""
    return Settings.from_env(environ).with_secret()


def markdown_table() -> str:
    """The configuration table of README.md, from ``VARIABLES``."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for var in VARIABLES:
        if var.default:
            default = f"`{var.default}`"
        elif var.name == "SECRET_KEY":
            default = "(generated)"
        else:
            default = "(see meaning)" if var.default is None else "(empty)"
        rows.append(f"| `{var.env}` | {default} | {var.help} |")
    return "\n".join(rows)
