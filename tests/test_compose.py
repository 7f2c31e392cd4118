"""docker-compose.yml, read as compose reads it (Docker itself cannot run on this machine).

Every ARCHIVE_ variable it sets is a real setting with a valid value once interpolated, every
secret is a required ``${VAR:?}``, every dependency waits for health, data lives in named
volumes, and .env.example lists each variable compose needs.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from core.settings import Settings
from tests.conftest import ROOT

COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
COMPOSE_CODE = "\n".join(
    line for line in COMPOSE_TEXT.splitlines() if not line.lstrip().startswith("#")
)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?:(:?[?-])([^}]*))?\}")
SECRET = re.compile(r"PASSWORD|SECRET")


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def interpolate(value: str, values: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}; a missing required one fails."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        if values.get(name):
            return values[name]
        if op == ":-":
            return arg
        raise AssertionError(f"${{{name}}} is required and not set")

    return VARIABLE.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def example_values() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip() or f"example-{key.strip().lower()}"
    return values


def test_the_scale_out_services_are_there() -> None:
    assert {"api", "worker", "postgres", "minio", "minio-init", "elasticsearch"} <= set(SERVICES)
    assert SERVICES["api"]["command"] == ["contract-archive", "serve"]
    assert SERVICES["worker"]["command"][0] == "contract-archive"
    es = environment(SERVICES["elasticsearch"])
    assert es["discovery.type"] == "single-node" and es["xpack.security.enabled"] == "true"
    init = "\n".join(SERVICES["minio-init"]["command"])
    assert "mc mb" in init and "--with-lock" in init  # versioning comes with Object Lock


@pytest.mark.parametrize("name", ["api", "worker"])
def test_every_archive_variable_is_a_setting_with_a_valid_value(name: str) -> None:
    env = environment(SERVICES[name])
    archive_vars = {k: v for k, v in env.items() if k.startswith("ARCHIVE_")}
    assert archive_vars and archive_vars == env, "only ARCHIVE_ settings configure the archive"
    fields = set(Settings.model_fields)
    unknown = [k for k in archive_vars if k.removeprefix("ARCHIVE_").lower() not in fields]
    assert not unknown, f"not settings of the archive: {unknown}"
    values = example_values()
    overrides = {
        k.removeprefix("ARCHIVE_").lower(): interpolate(v, values) for k, v in archive_vars.items()
    }
    settings = Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
    assert settings.object_store == "s3" and settings.index_backend == "elasticsearch"
    assert settings.effective_database_url.startswith("postgresql+psycopg://archive:")
    assert settings.index_password is not None and settings.s3_secret_key is not None


def test_every_secret_is_required_from_the_environment() -> None:
    checked = 0
    for name, service in SERVICES.items():
        for key, value in environment(service).items():
            if not (SECRET.search(key) or ("://" in value and "@" in value)):
                continue
            refs = [(var, op) for var, op, _ in VARIABLE.findall(value) if SECRET.search(var)]
            assert refs, f"{name}: {key} holds a literal secret"
            assert all(op == ":?" for _, op in refs), f"{name}: {key} must use ${{VAR:?}}"
            checked += 1
    assert checked >= 6
    required = {m.group(1) for m in VARIABLE.finditer(COMPOSE_CODE) if m.group(2) == ":?"}
    defaulted = {m.group(1) for m in VARIABLE.finditer(COMPOSE_CODE) if m.group(2) == ":-"}
    assert not required & defaulted, "a variable is either required or has a default"
    secrets = {"POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "S3_SECRET_KEY", "ELASTIC_PASSWORD"}
    assert secrets <= required


def test_env_example_lists_every_variable_and_no_secret() -> None:
    used = {m.group(1) for m in VARIABLE.finditer(COMPOSE_CODE)}
    values = {
        line.partition("=")[0]: line.partition("=")[2]
        for line in ENV_EXAMPLE.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert used == set(values), "keep .env.example in step with docker-compose.yml"
    for key, value in values.items():
        if SECRET.search(key):
            assert value == "", f"{key} must be left empty in .env.example"
    assert not any(k.startswith("ARCHIVE_") for k in values), "a local .env is read by the CLI"


def test_dependencies_wait_for_health() -> None:
    for name, service in SERVICES.items():
        for dep, how in (service.get("depends_on") or {}).items():
            assert dep in SERVICES, f"{name} depends on a missing service {dep}"
            condition = how["condition"]
            if condition == "service_completed_successfully":
                assert SERVICES[dep].get("restart") == "no", f"{dep} is a one-shot container"
                continue
            assert condition == "service_healthy", f"{name} → {dep}: {condition}"
            assert "healthcheck" in SERVICES[dep], f"{dep} has no healthcheck"
    api_deps = set(SERVICES["api"]["depends_on"])
    assert {"postgres", "minio", "minio-init", "elasticsearch"} <= api_deps


def test_data_lives_in_named_volumes() -> None:
    declared = set(COMPOSE["volumes"])
    for name in ("api", "postgres", "minio", "elasticsearch"):
        mounts = SERVICES[name].get("volumes") or []
        assert mounts, f"{name} keeps its data in no volume"
        for mount in mounts:
            source = mount.split(":", 1)[0]
            assert source in declared, f"{name}: {source} is not a named volume"


def test_the_archive_uses_its_own_elasticsearch_user_with_only_its_index_privileges() -> None:
    """Not the `elastic` superuser (issue 20): elasticsearch-init makes a role with index
    privileges on the archive's alias and its generations, and a user with that role only."""
    for name in ("api", "worker"):
        env = environment(SERVICES[name])
        assert env["ARCHIVE_INDEX_USERNAME"] not in ("elastic", ""), name
        assert "ES_ARCHIVE_PASSWORD" in env["ARCHIVE_INDEX_PASSWORD"]
        assert "ELASTIC_PASSWORD" not in env["ARCHIVE_INDEX_PASSWORD"]
    for name, service in SERVICES.items():
        if name != "elasticsearch-init":
            assert "ELASTIC_PASSWORD" not in environment(service) or name == "elasticsearch"
    init = SERVICES["elasticsearch-init"]
    assert init["restart"] == "no"
    assert init["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert (
        SERVICES["api"]["depends_on"]["elasticsearch-init"]["condition"]
        == "service_completed_successfully"
    )
    script = interpolate("\n".join(init["command"]), example_values())
    role = re.search(r"_security/role/(\w+) -d '(.*?)'\n", script, re.S)
    user = re.search(r"_security/user/([\w-]+) -d '(.*?)'\n", script, re.S)
    assert role and user, script
    archive_env = environment(SERVICES["api"])
    assert user.group(1) == archive_env["ARCHIVE_INDEX_USERNAME"]
    # The shell pastes the variables into the JSON; paste example values the same way.
    values = {**example_values(), "INDEX_NAME": "contracts", "ES_ARCHIVE_PASSWORD": "secret42"}

    def shell(text: str) -> str:
        return re.sub(r"'\"\$([A-Z_]+)\"'", lambda m: values[m.group(1)], text.replace("$$", "$"))

    role_body = json.loads(shell(role.group(2)))
    user_body = json.loads(shell(user.group(2)))
    assert user_body["roles"] == [role.group(1)]
    assert set(role_body["cluster"]) == {"monitor"}
    (indices,) = role_body["indices"]
    index_name = interpolate(archive_env["ARCHIVE_INDEX_NAME"], example_values())
    assert indices["names"] == [index_name, f"{index_name}-v*"]
    assert "all" not in indices["privileges"] and "*" not in indices["names"]
    assert set(indices["privileges"]) <= {
        "create_index", "delete_index", "manage", "read", "write", "view_index_metadata"
    }  # fmt: skip


def test_the_first_password_does_not_go_to_docker_logs() -> None:
    """The api service's stderr is no terminal: the archive writes the one-time password to
    DATA_DIR/first-admin-password (0600) and the compose file says where."""
    assert "/data/first-admin-password" in COMPOSE_TEXT
    assert environment(SERVICES["api"]).get("ARCHIVE_DATA_DIR", "/data") == "/data"


def test_the_worker_watches_a_mounted_folder_and_the_api_does_not() -> None:
    """Issue 16: ARCHIVE_WATCH_DIR is set on the worker only (the api's worker processes would
    each look into it), to the container side of a mount whose host side is WATCH_FOLDER;
    the watch settings come from .env without ARCHIVE_ keys there, and with the example
    values they are valid settings (an empty WATCH_USER: the first admin)."""
    worker = environment(SERVICES["worker"])
    assert "ARCHIVE_WATCH_DIR" not in environment(SERVICES["api"])
    assert SERVICES["worker"]["command"] == ["contract-archive", "worker"]  # no --no-watch
    mounts = {m.rsplit(":", 1)[1]: m.rsplit(":", 1)[0] for m in SERVICES["worker"]["volumes"]}
    assert mounts[worker["ARCHIVE_WATCH_DIR"]] == "${WATCH_FOLDER:-./watch}"
    assert mounts["/data"] == "archive-data"  # the worker keeps the archive's data volume
    values = example_values()
    assert values["WATCH_FOLDER"] == "./watch"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        watch_dir=worker["ARCHIVE_WATCH_DIR"],
        watch_user=interpolate(worker["ARCHIVE_WATCH_USER"], {**values, "WATCH_USER": ""}),
        watch_split_batches=interpolate(worker["ARCHIVE_WATCH_SPLIT_BATCHES"], values),
    )
    assert str(settings.watch_dir) == "/watch" and not settings.watch_user
    assert settings.watch_split_batches is False
