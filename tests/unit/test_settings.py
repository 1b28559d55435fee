"""``Settings.from_env``: embedded defaults, one error shape naming the variable, the secret key
file, and a README that documents every variable."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from loancheck.settings import (
    PREFIX,
    VARIABLES,
    ConfigError,
    Settings,
    lan_address,
    markdown_table,
)

README = Path(__file__).parents[2] / "README.md"
S3_VARIABLES = {
    "LOANCHECK_S3_ENDPOINT": "http://minio:9000",
    "LOANCHECK_S3_ACCESS_KEY": "access",
    "LOANCHECK_S3_SECRET_KEY": "secret",
}


def env(data_dir: Path, **values: str) -> dict[str, str]:
    """An environment with ``LOANCHECK_DATA_DIR`` and the given variables (names unprefixed)."""
    return {"LOANCHECK_DATA_DIR": str(data_dir), **{PREFIX + k: v for k, v in values.items()}}


def test_defaults_are_the_embedded_setup(tmp_path: Path):
    settings = Settings.from_env(env(tmp_path))
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'loancheck.db'}"
    assert settings.object_store == (tmp_path / "objects").resolve().as_uri()
    assert settings.object_store.startswith("file:///")
    assert settings.redis_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.secret_key == ""
    assert settings.stun_urls == settings.turn_urls == ()
    # 误差范围 200 m; fixes no worse than 100 m and no older than 2 min.
    assert (settings.checkpoint_radius_m, settings.gps_max_accuracy_m) == (200, 100)
    assert settings.gps_max_age_seconds == 120


def test_empty_environment_uses_var_folder():
    settings = Settings.from_env({})
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite+aiosqlite:///var/loancheck.db"
    assert settings.object_store == Path("var/objects").resolve().as_uri()


@pytest.mark.parametrize(
    ("name", "value", "variable"),
    [
        ("PORT", "abc", "LOANCHECK_PORT"),
        ("PORT", "70000", "LOANCHECK_PORT"),
        ("PORT", "0", "LOANCHECK_PORT"),
        ("DATABASE_URL", "mysql://x", "LOANCHECK_DATABASE_URL"),
        ("REDIS_URL", "http://x", "LOANCHECK_REDIS_URL"),
        ("OBJECT_STORE", "ftp://x", "LOANCHECK_OBJECT_STORE"),
        ("PUBLIC_URL", "localhost", "LOANCHECK_PUBLIC_URL"),
        ("STUN_URLS", "http://x", "LOANCHECK_STUN_URLS"),
        ("TURN_URLS", "stun:ok:3478,http://x", "LOANCHECK_TURN_URLS"),
        ("SESSION_IDLE_MINUTES", "0", "LOANCHECK_SESSION_IDLE_MINUTES"),
        ("SESSION_MAX_HOURS", "-1", "LOANCHECK_SESSION_MAX_HOURS"),
        ("LOG_LEVEL", "LOUD", "LOANCHECK_LOG_LEVEL"),
        ("CHECKPOINT_RADIUS_METERS", "5", "LOANCHECK_CHECKPOINT_RADIUS_METERS"),
        ("CHECKPOINT_RADIUS_METERS", "200m", "LOANCHECK_CHECKPOINT_RADIUS_METERS"),
        ("GPS_MAX_ACCURACY_METERS", "0", "LOANCHECK_GPS_MAX_ACCURACY_METERS"),
        ("GPS_MAX_AGE_SECONDS", "100000", "LOANCHECK_GPS_MAX_AGE_SECONDS"),
    ],
)
def test_bad_value_names_its_variable(tmp_path: Path, name: str, value: str, variable: str):
    with pytest.raises(ConfigError) as excinfo:
        Settings.from_env(env(tmp_path, **{name: value}))
    assert excinfo.value.variable == variable
    assert str(excinfo.value).startswith(f"{variable}: ")
    # The message shows what was given, so the operator sees the typo.
    assert repr(value) in str(excinfo.value)


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"TURN_URLS": "turn:turn.bank.example:3478"}, "LOANCHECK_TURN_SECRET"),
        ({"OBJECT_STORE": "s3://b"}, "LOANCHECK_S3_ENDPOINT"),
        ({"OBJECT_STORE": "s3://b", "S3_ENDPOINT": "http://minio:9000"}, "LOANCHECK_S3_ACCESS_KEY"),
        (
            {
                "OBJECT_STORE": "s3://b",
                "S3_ENDPOINT": "minio:9000",
                "S3_ACCESS_KEY": "a",
                "S3_SECRET_KEY": "s",
            },
            "LOANCHECK_S3_ENDPOINT",
        ),
    ],
    ids=["turn-without-secret", "s3-without-endpoint", "s3-without-keys", "s3-endpoint-not-url"],
)
def test_missing_companion_variable_is_named(tmp_path: Path, values: dict[str, str], variable: str):
    with pytest.raises(ConfigError) as excinfo:
        Settings.from_env(env(tmp_path, **values))
    assert excinfo.value.variable == variable
    assert str(excinfo.value).startswith(f"{variable}: ")


def test_s3_store_with_its_variables(tmp_path: Path):
    environ = env(tmp_path, OBJECT_STORE="s3://loancheck") | S3_VARIABLES
    settings = Settings.from_env(environ)
    assert settings.object_store == "s3://loancheck"
    assert settings.s3_endpoint == "http://minio:9000"


def test_turn_with_secret(tmp_path: Path):
    urls = "turn:t.example:3478?transport=udp, turn:t.example:3478?transport=tcp"
    settings = Settings.from_env(env(tmp_path, TURN_URLS=urls, TURN_SECRET="s"))
    assert settings.turn_urls == (
        "turn:t.example:3478?transport=udp",
        "turn:t.example:3478?transport=tcp",
    )


def test_plain_port_variable_works(tmp_path: Path):
    assert Settings.from_env(env(tmp_path) | {"PORT": "9000"}).port == 9000
    both = env(tmp_path, PORT="9100") | {"PORT": "9000"}
    assert Settings.from_env(both).port == 9100


def test_with_secret_generates_the_key_once(tmp_path: Path):
    data_dir = tmp_path / "not-yet-created"
    settings = Settings.from_env(env(data_dir))
    first = settings.with_secret()
    path = data_dir / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    assert first.secret_key == path.read_text().strip()
    assert settings.secret_key == ""  # frozen: with_secret returns a new Settings

    again = Settings.from_env(env(data_dir)).with_secret()
    assert again.secret_key == first.secret_key
    assert path.read_text().strip() == first.secret_key


def test_configured_secret_key_writes_no_file(tmp_path: Path):
    settings = Settings.from_env(env(tmp_path, SECRET_KEY="from-the-environment")).with_secret()
    assert settings.secret_key == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [
        ("https://loancheck.bank.example", True),
        ("http://loancheck.bank.example", False),
        ("http://127.0.0.1:8080", False),
    ],
)
def test_secure_cookies_only_on_https(tmp_path: Path, public_url: str, secure: bool):
    assert Settings.from_env(env(tmp_path, PUBLIC_URL=public_url)).secure_cookies is secure


def test_every_variable_is_in_the_readme_configuration_table():
    rows = [line for line in README.read_text().splitlines() if line.startswith("|")]
    documented = {m[1] for line in rows if (m := re.match(r"\|\s*`(LOANCHECK_\w+)`", line))}
    missing = [var.env for var in VARIABLES if var.env not in documented]
    assert missing == [], f"README.md's configuration table lacks {', '.join(missing)}"
    # Defaults and help texts too: regenerate with loancheck.settings.markdown_table().
    assert markdown_table() in README.read_text()


def test_plain_port_errors_name_the_variable_that_was_set():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"PORT": "abc"})
    assert info.value.variable == "PORT"


def test_https_public_url_is_recognised_in_any_case():
    settings = Settings.from_env({"LOANCHECK_PUBLIC_URL": "HTTPS://Loancheck.Bank.Example/"})
    assert settings.public_url == "https://loancheck.bank.example"
    assert settings.secure_cookies


def test_trusted_proxies_parse_addresses_and_ranges():
    settings = Settings.from_env({"LOANCHECK_TRUSTED_PROXIES": "10.0.0.1, 172.16.0.0/12"})
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.1/32", "172.16.0.0/12"]
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LOANCHECK_TRUSTED_PROXIES": "proxy.local"})
    assert info.value.variable == "LOANCHECK_TRUSTED_PROXIES"


@pytest.mark.parametrize(
    ("values", "public_url"),
    [
        ({}, "http://127.0.0.1:8080"),
        ({"PORT": "18101"}, "http://127.0.0.1:18101"),
        ({"HOST": "localhost", "PORT": "9000"}, "http://localhost:9000"),
        ({"HOST": "::1", "PORT": "9000"}, "http://[::1]:9000"),
        ({"PORT": "8443", "TLS_SELF_SIGNED": "true"}, "https://127.0.0.1:8443"),
        ({"PORT": "443", "TLS_CERT": "c.pem", "TLS_KEY": "k.pem"}, "https://127.0.0.1"),
        ({"PORT": "80"}, "http://127.0.0.1"),
    ],
)
def test_unset_public_url_is_the_listener(tmp_path: Path, values: dict[str, str], public_url: str):
    settings = Settings.from_env(env(tmp_path, **values))
    assert settings.public_url == public_url
    assert settings.public_url_explicit is False


def test_plain_port_variable_moves_the_public_url_too(tmp_path: Path):
    settings = Settings.from_env({"LOANCHECK_DATA_DIR": str(tmp_path), "PORT": "18101"})
    assert (settings.port, settings.public_url) == (18101, "http://127.0.0.1:18101")


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_any_address_listener_links_to_this_machines_lan_address(tmp_path: Path, host: str):
    """A phone cannot open 0.0.0.0: links name the address this machine is reached at."""
    url = Settings.from_env(env(tmp_path, HOST=host, PORT="18101")).public_url
    address = lan_address()
    assert url == f"http://{address}:18101"
    assert address not in {"0.0.0.0", "::", ""}


def test_an_explicit_public_url_wins_over_the_listener(tmp_path: Path):
    settings = Settings.from_env(
        env(tmp_path, PORT="18101", PUBLIC_URL="https://check.bank.example")
    )
    assert settings.public_url == "https://check.bank.example"
    assert settings.public_url_explicit is True


def test_deployments_sharing_a_redis_get_channels_of_their_own(tmp_path: Path):
    """Room names are ids every deployment has (``call-1``): on one shared channel, one
    deployment's call signals reached another's call of the same id."""
    from signaling.server import redis_channel

    def channel(**values: str) -> str:
        return redis_channel(
            Settings.from_env(env(tmp_path, REDIS_URL="redis://r:6379/0", **values))
        )

    bank_a, bank_b = channel(SECRET_KEY="a" * 40), channel(SECRET_KEY="b" * 40)
    assert bank_a != bank_b and "socketio" not in (bank_a, bank_b)
    assert channel(SECRET_KEY="a" * 40) == bank_a  # every node of one deployment: the same
    assert "a" * 40 not in bank_a  # the secret is not published
    assert channel(SECRET_KEY="a" * 40, REDIS_CHANNEL="loancheck-staging") == "loancheck-staging"
