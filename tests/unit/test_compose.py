"""docker-compose.yml wires the production stack the way ``Settings`` and coturn expect."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from loancheck.settings import PREFIX, VARIABLES, Settings

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "docker-compose.yml"

# Values an operator would put in .env for the variables whose shape Settings checks; every
# other required variable gets a dummy.
SAMPLE_ENV = {
    "LOANCHECK_PUBLIC_URL": "https://loancheck.bank.example",
    "TURN_HOST": "turn.bank.example",
}
SECRET_NAME = re.compile(r"SECRET|PASS|KEY|TOKEN|AUTH", re.IGNORECASE)
REQUIRED = re.compile(r"\$\{(\w+):?\?[^}]*\}")
ONLY_A_REQUIRED_VARIABLE = re.compile(r"\$\{\w+:\?[^}]*\}")
_DOLLAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_]\w*))")
_BRACED = re.compile(r"([A-Za-z_]\w*)(?:(:?[-?])(.*))?", re.DOTALL)
PRODUCTION_SERVICES = {
    "migrate",
    "app",
    "recorder",
    "proxy",
    "postgres",
    "redis",
    "minio",
    "coturn",
}


class MissingVariable(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Compose's substitution: ``$$``, ``$X``, ``${X}``, ``${X:-d}``, ``${X-d}``, ``${X:?m}``,
    ``${X?m}``."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return environ.get(match["named"], "")
        braced = _BRACED.fullmatch(match["braced"])
        if braced is None:
            raise ValueError(f"unsupported interpolation {match[0]!r}")
        name, operator, argument = braced.groups()
        value = environ.get(name)
        unset = value is None or (operator is not None and operator.startswith(":") and not value)
        if operator in (":-", "-") and unset:
            return str(argument)
        if operator in (":?", "?") and unset:
            raise MissingVariable(name, argument)
        return value or ""

    return _DOLLAR.sub(substitute, text)


def interpolate_tree(node: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, environ)
    if isinstance(node, list):
        return [interpolate_tree(item, environ) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, environ) for key, value in node.items()}
    return node


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def command_of(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """Target service -> condition (``service_started`` for the short list form)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def turnserver_conf(path: Path) -> dict[str, str]:
    options: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            options[key.strip()] = value.strip()
    return options


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """docker-compose.yml as written, before interpolation."""
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def dot_env() -> dict[str, str]:
    """An operator's .env: every variable the file requires, with a value."""
    names = set(REQUIRED.findall(COMPOSE.read_text()))
    return {name: SAMPLE_ENV.get(name, f"dummy-{name.lower()}") for name in sorted(names)}


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any], dot_env: dict[str, str]) -> dict[str, Any]:
    """docker-compose.yml as `docker compose` runs it with ``dot_env``."""
    return interpolate_tree(raw, dot_env)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def test_interpolation_follows_compose_rules():
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("a$$b ${SET} $SET", env) == "a$b v v"
    assert interpolate("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${SET:-d}", env) == "d d  v"
    assert interpolate("${SET:?needed}", env) == "v"
    with pytest.raises(MissingVariable) as excinfo:
        interpolate("x ${EMPTY:?set EMPTY}", env)
    assert excinfo.value.name == "EMPTY"
    with pytest.raises(MissingVariable):
        interpolate("${UNSET?needed}", env)


def test_compose_fails_without_its_secrets(raw: dict[str, Any], dot_env: dict[str, str]):
    for name in ("LOANCHECK_SECRET_KEY", "POSTGRES_PASSWORD", "LOANCHECK_TURN_SECRET"):
        assert name in dot_env, f"{name} is not a required variable of docker-compose.yml"
        with pytest.raises(MissingVariable) as excinfo:
            interpolate_tree(raw, {k: v for k, v in dot_env.items() if k != name})
        assert excinfo.value.name == name


def test_the_production_services_exist(services: dict[str, Any]):
    assert sorted(PRODUCTION_SERVICES - set(services)) == []
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["minio"]["image"].startswith("minio/minio")
    assert services["coturn"]["image"].startswith("coturn/coturn")
    assert command_of(services["migrate"]) == ["migrate"]
    assert command_of(services["app"]) == ["serve"]


def test_every_loancheck_variable_is_a_declared_setting(raw: dict[str, Any]):
    declared = {var.env for var in VARIABLES}
    used: set[str] = set()
    for service in raw["services"].values():
        used |= {name for name in environment_of(service) if name.startswith(PREFIX)}
    used |= set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    assert sorted(name for name in used if name.startswith(PREFIX) and name not in declared) == []


@pytest.mark.parametrize("name", ["app", "migrate"])
def test_app_environment_gives_production_settings(services: dict[str, Any], name: str):
    env = environment_of(services[name])
    settings = Settings.from_env(env)

    database = urlsplit(settings.database_url)
    assert database.scheme == "postgresql+asyncpg"
    assert database.hostname in services
    assert settings.redis_url is not None
    redis = urlsplit(settings.redis_url)
    assert redis.scheme == "redis"
    assert redis.hostname in services
    assert settings.object_store.startswith("s3://")
    assert urlsplit(settings.s3_endpoint).hostname in services
    # Without a configured key every replica would generate its own, and sessions and signed
    # URLs from one would fail on the other.
    assert settings.secret_key
    assert settings.turn_urls
    assert settings.turn_secret


def test_migrate_and_app_see_the_same_configuration(services: dict[str, Any]):
    assert environment_of(services["migrate"]) == environment_of(services["app"])
    assert environment_of(services["recorder"]) == environment_of(services["app"])


def test_recorder_workers_record_and_reach_signaling_through_the_app(services: dict[str, Any]):
    recorder = services["recorder"]
    assert recorder["command"] == ["recorder"]
    assert int(recorder.get("deploy", {}).get("replicas", 1)) >= 2  # one may die
    settings = Settings.from_env(environment_of(recorder))
    # The app replicas leave recording to the workers, which join calls through them.
    assert settings.recorder_mode == "workers"
    signaling = urlsplit(settings.recorder_signaling_url)
    assert signaling.hostname == "app"
    assert signaling.port == Settings.from_env(environment_of(services["app"])).port
    assert depends_on(recorder)["app"] == "service_healthy"
    # Phones cannot reach a container: media meets on TURN relays.
    assert settings.turn_urls and settings.turn_secret


def test_app_replicas_share_state_through_redis(services: dict[str, Any]):
    app = services["app"]
    replicas = int(app.get("deploy", {}).get("replicas", 1))
    assert replicas >= 2
    assert Settings.from_env(environment_of(app)).redis_url is not None
    # Replicas publish no port of their own: users come in through the proxy.
    assert not app.get("ports")
    assert services["proxy"].get("ports")
    assert "app" in depends_on(services["proxy"])


def test_depends_on_targets_exist(services: dict[str, Any]):
    missing = [
        (name, target)
        for name, service in services.items()
        for target in depends_on(service)
        if target not in services
    ]
    assert missing == []


def test_app_waits_for_migration_and_healthy_services(services: dict[str, Any]):
    deps = depends_on(services["app"])
    assert deps["migrate"] == "service_completed_successfully"
    for backend in ("postgres", "redis", "minio"):
        assert deps[backend] == "service_healthy", backend
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            if condition == "service_healthy":
                assert services[target].get("healthcheck", {}).get("test"), (name, target)


def test_app_healthcheck_asks_healthz_on_its_port(services: dict[str, Any]):
    app = services["app"]
    probe = " ".join(app["healthcheck"]["test"])
    port = Settings.from_env(environment_of(app)).port
    assert "/healthz" in probe
    assert str(port) in probe
    for backend in ("postgres", "redis", "minio"):
        assert services[backend]["healthcheck"]["test"], backend


def _literal_secrets(service_name: str, service: Mapping[str, Any]) -> list[str]:
    found = []
    for key, value in environment_of(service).items():
        if SECRET_NAME.search(key) and not ONLY_A_REQUIRED_VARIABLE.fullmatch(value):
            found.append(f"{service_name}: {key}={value}")
        password = urlsplit(value).password if "://" in value else None
        if password is not None and not ONLY_A_REQUIRED_VARIABLE.fullmatch(password):
            found.append(f"{service_name}: password in {key}")
    args = command_of(service)
    for i, arg in enumerate(args):
        option, equals, value = arg.partition("=")
        if not option.startswith("-") or not SECRET_NAME.search(option):
            continue
        if not equals:
            value = args[i + 1] if i + 1 < len(args) else ""
        if not ONLY_A_REQUIRED_VARIABLE.fullmatch(value):
            found.append(f"{service_name}: {arg} {value}")
    return found


def test_no_secret_is_written_in_the_file(raw: dict[str, Any]):
    found = [
        secret
        for name, service in raw["services"].items()
        for secret in _literal_secrets(name, service)
    ]
    assert found == []


def test_secret_check_catches_literals():
    service = {
        "environment": {"X_PASSWORD": "hunter2", "DB": "postgresql://u:hunter2@db/x"},
        "command": ["redis-server", "--requirepass", "hunter2", "--static-auth-secret=x"],
    }
    assert len(_literal_secrets("s", service)) == 4
    clean = {
        "environment": {"X_PASSWORD": "${P:?set P}", "DB": "postgresql://u:${P:?set P}@db/x"},
        "command": ["redis-server", "--requirepass", "${P:?set P}"],
    }
    assert _literal_secrets("s", clean) == []


def test_image_build_leaves_out_the_env_file():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored


def test_coturn_checks_credentials_with_the_app_turn_secret(raw: dict[str, Any]):
    coturn = raw["services"]["coturn"]
    args = command_of(coturn)
    secrets = [arg.split("=", 1)[1] for arg in args if arg.startswith("--static-auth-secret=")]
    assert len(secrets) == 1
    app_secret = environment_of(raw["services"]["app"])["LOANCHECK_TURN_SECRET"]
    assert REQUIRED.findall(secrets[0]) == REQUIRED.findall(app_secret) != []

    target = args[args.index("-c") + 1]
    mounts = [str(volume).split(":") for volume in coturn["volumes"]]
    sources = [source for source, mounted, *_ in mounts if mounted == target]
    assert sources == ["./deploy/coturn/turnserver.conf"]
    conf = turnserver_conf(ROOT / sources[0])
    assert "use-auth-secret" in conf
    assert "static-auth-secret" not in conf  # the secret stays out of the repository
    assert conf.get("realm")


def test_turn_urls_use_the_ports_coturn_listens_on(services: dict[str, Any]):
    settings = Settings.from_env(environment_of(services["app"]))
    conf = turnserver_conf(ROOT / "deploy" / "coturn" / "turnserver.conf")
    listening = conf.get("listening-port", "3478")
    for url in (*settings.turn_urls, *settings.stun_urls):
        host_port = url.split(":", 1)[1].split("?", 1)[0]
        assert host_port.rsplit(":", 1)[1] == listening, url
    relay = range(int(conf["min-port"]), int(conf["max-port"]) + 1)
    assert len(relay) > 0
    # Relay ports reach the host only through host networking (Docker publishes thousands of
    # UDP ports badly), so the range in the conf is what the firewall must open.
    assert services["coturn"].get("network_mode") == "host"
