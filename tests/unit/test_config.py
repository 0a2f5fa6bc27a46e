"""Settings: the file, environment overrides, errors that point at a line, and secrets only by reference."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from crossdock.config import (
    ConfigError,
    EventLogBackend,
    SecretRef,
    Settings,
    is_secret_key,
    load_settings,
    redact_url,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
systems:
  erp:
    type: tryton
    password: env:TRYTON_PASSWORD
  crm:
    type: salesforce
    client_secret: env:SALESFORCE_CLIENT_SECRET
flows:
  - name: customer-crm-to-erp
    source: {system: crm, entity: customer}
    targets:
      - system: erp
"""


@pytest.fixture(autouse=True)
def _in_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test where no crossdock.yaml lies around, so the default lookup finds only what a test writes."""
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str, name: str = "crossdock.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(path: Path | None, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={} if env is None else env)
    return caught.value


# --- where settings come from ---


def test_defaults_without_file_or_environment() -> None:
    settings = load_settings(env={})

    assert settings.config_file is None
    assert settings.database_url == "sqlite:///var/crossdock.db"
    assert settings.event_log is EventLogBackend.SQLITE
    assert settings.event_log_url == "var/events.db"
    assert settings.sqlite_log_path() == Path("var/events.db")
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.partitions == 16
    assert settings.schema_dir is None
    assert settings.flows == []
    assert settings.systems == {}


def test_reads_crossdock_yaml_from_the_working_directory(tmp_path: Path) -> None:
    write(tmp_path, "partitions: 4\n")

    settings = load_settings(env={})

    assert settings.partitions == 4
    assert settings.config_file == Path("crossdock.yaml")


def test_crossdock_config_names_the_file_and_an_explicit_path_wins(tmp_path: Path) -> None:
    write(tmp_path, "partitions: 4\n")  # ignored: CROSSDOCK_CONFIG wins over ./crossdock.yaml
    from_env = {"CROSSDOCK_CONFIG": str(write(tmp_path, "partitions: 8\n", name="other.yaml"))}
    from_cli = write(tmp_path, "partitions: 2\n", name="cli.yaml")

    assert load_settings(env=from_env).partitions == 8
    assert load_settings(from_cli, env=from_env).partitions == 2


def test_a_named_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    error = load_error(None, {"CROSSDOCK_CONFIG": str(tmp_path / "nope.yaml")})

    assert error.location == str(tmp_path / "nope.yaml")
    assert "CROSSDOCK_CONFIG" in error.hint


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        partitions: 8
        event_log: nats
        nats_url: nats://10.0.0.1:4222
        lease_ttl_s: 10
        """,
    )
    env = {
        "CROSSDOCK_PARTITIONS": "32",
        "CROSSDOCK_EVENT_LOG": "sqlite",
        "CROSSDOCK_EVENT_LOG_URL": "sqlite:///tmp/events.db",
        "CROSSDOCK_SCHEMA_DIR": "/etc/crossdock/schemas",
        "CROSSDOCK_LEASE_TTL_S": "",  # empty counts as unset
        "CROSSDOCK_TEST_POSTGRES_URL": "ignored",  # not a setting
    }

    settings = load_settings(path, env=env)

    assert settings.partitions == 32
    assert settings.event_log is EventLogBackend.SQLITE
    assert settings.event_log_url == "tmp/events.db"
    assert settings.schema_dir == Path("/etc/crossdock/schemas")
    assert settings.nats_url == "nats://10.0.0.1:4222"
    assert settings.lease_ttl_s == 10


def test_settings_built_directly_take_keyword_arguments_over_the_environment() -> None:
    settings = Settings(partitions=3)

    assert settings.partitions == 3
    assert settings.config_file is None


# --- database and event log URLs ---


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://crossdock@db:5432/crossdock", "postgresql+psycopg://crossdock@db:5432/crossdock"),
        ("postgres://crossdock@db/crossdock", "postgresql+psycopg://crossdock@db/crossdock"),
        ("postgresql+psycopg://crossdock@db/crossdock", "postgresql+psycopg://crossdock@db/crossdock"),
        ("sqlite:////srv/crossdock/crossdock.db", "sqlite:////srv/crossdock/crossdock.db"),
    ],
)
def test_database_url_is_normalised(given: str, expected: str) -> None:
    settings = load_settings(None, env={"CROSSDOCK_CONFIG": "", "CROSSDOCK_DATABASE_URL": given})

    assert settings.database_url == expected


def test_postgres_event_log_defaults_to_the_database() -> None:
    env = {"CROSSDOCK_DATABASE_URL": "postgresql://crossdock@db/crossdock", "CROSSDOCK_EVENT_LOG": "postgres"}

    settings = load_settings(None, env=env)

    assert settings.event_log_url == "postgresql+psycopg://crossdock@db/crossdock"


def test_postgres_event_log_on_a_sqlite_database_needs_a_url(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "event_log: postgres\n"))

    assert error.location == f"{tmp_path / 'crossdock.yaml'}:1"
    assert "CROSSDOCK_EVENT_LOG_URL" in error.hint


def test_postgres_event_log_url_must_be_postgres(tmp_path: Path) -> None:
    path = write(
        tmp_path, "database_url: postgresql://crossdock@db/crossdock\nevent_log: postgres\nevent_log_url: var/x.db\n"
    )

    error = load_error(path)

    assert error.location == f"{path}:3"
    assert "event_log_url" in error.message


def test_a_flow_never_delivers_back_to_its_source(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "      - system: crm\n")

    error = load_error(path)

    assert error.location == f"{path}:13"
    assert "back to its own source" in error.message


def test_unsupported_database_is_refused() -> None:
    error = load_error(None, {"CROSSDOCK_DATABASE_URL": "mysql://root@db/crossdock"})

    assert error.location == "CROSSDOCK_DATABASE_URL (environment)"
    assert "mysql" in error.message


def test_password_in_a_url_stays_out_of_the_file_and_out_of_reprs(tmp_path: Path) -> None:
    in_file = write(tmp_path, "partitions: 2\ndatabase_url: postgresql://app:hunter2@db/crossdock\n", "with-pw.yaml")
    error = load_error(in_file)
    assert error.location == f"{in_file}:2"
    assert "CROSSDOCK_DATABASE_URL" in error.hint
    assert "hunter2" not in str(error)

    settings = load_settings(None, env={"CROSSDOCK_DATABASE_URL": "postgresql://app:hunter2@db/crossdock"})
    assert settings.database_url == "postgresql+psycopg://app:hunter2@db/crossdock"  # the store needs it
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings)
    assert redact_url("nats://u:p4ss@host:4222") == "nats://u:***@host:4222"


# --- errors point at the line ---


def test_invalid_value_reports_file_line_and_what_to_do(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        database_url: sqlite:///var/crossdock.db
        partitions: lots
        """,
    )

    error = load_error(path)

    assert error.location == f"{path}:2"
    assert "partitions" in error.message
    assert error.hint == "write a whole number"
    assert str(error).startswith(f"{path}:2: partitions: ")


def test_every_problem_is_reported_with_its_own_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + """\
  - name: item-erp-to-crm
    source:
      system: erp
    tagets:
      - system: crm
        retry:
          max_attempts: 0
""",
    )

    error = load_error(path)

    by_line = {problem.location.rsplit(":", 1)[1]: problem for problem in error.problems}
    assert set(by_line) == {"13", "14", "16"}
    assert "flows[1].source.entity" in by_line["14"].message
    assert by_line["14"].hint == "add `entity:` here"
    assert "flows[1].tagets" in by_line["16"].message
    assert "`targets`" in by_line["16"].hint
    assert "flows[1].targets" in by_line["13"].message  # missing: reported on the flow's first line
    assert len(str(error).splitlines()) == 3


def test_error_inside_a_nested_retry_block(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + """\
        retry:
          initial_backoff_s: 10
          max_backoff_s: 5
""",
    )

    error = load_error(path)

    assert error.location == f"{path}:15"
    assert "flows[0].targets[0].retry.max_backoff_s" in error.message


def test_undeclared_system_is_reported_where_it_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("      - system: erp", "      - system: wms"))

    error = load_error(path)

    assert error.location == f"{path}:12"
    assert "'wms' is not declared" in error.message
    assert "declared: crm, erp" in error.hint


def test_orders_must_name_declared_systems_and_sane_rules(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "orders:\n  erp: ledger\n")
    error = load_error(path)
    assert "'ledger' is not declared" in error.message

    path = write(tmp_path, MINIMAL + "orders:\n  erp: erp\n  backorder_policy: maybe\n")
    assert "backorder_policy" in str(load_error(path))

    path = write(tmp_path, MINIMAL + "orders:\n  erp: erp\n  crm: crm\n  tax_rules: [{country: US, tax_codes: [T]}]\n")
    orders = load_settings(path, env={}).orders
    assert orders is not None
    assert orders.tax_rules[0].tax_codes == ["T"]


def test_ownership_must_name_declared_systems(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "ownership:\n  customer:\n    name: crm\n    credit_limit: ledger\n")

    error = load_error(path)

    assert error.location == f"{path}:16"
    assert "ownership.customer.credit_limit" in error.message


def test_duplicate_flow_names_are_refused(tmp_path: Path) -> None:
    second = MINIMAL.split("flows:\n", 1)[1]
    path = write(tmp_path, MINIMAL + second)

    error = load_error(path)

    assert error.location == f"{path}:13"
    assert "already used by flows[0]" in error.message


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "partitions: 4\nflows: [\n  {name: a\nsystems: {}\n")

    error = load_error(path)

    assert error.location.startswith(f"{path}:")
    assert error.message.startswith("not valid YAML")


def test_duplicate_keys_are_refused_not_silently_merged(tmp_path: Path) -> None:
    path = write(tmp_path, "partitions: 4\nlease_ttl_s: 5\npartitions: 8\n")

    error = load_error(path)

    assert error.location == f"{path}:3"
    assert "first on line 1" in error.message


def test_file_must_be_a_mapping(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "- partitions\n"))

    assert error.location.endswith(":1")


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "# nothing yet\n"), env={}).partitions == 16


def test_environment_errors_name_the_variable(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "partitions: 4\n"), {"CROSSDOCK_PARTITIONS": "zero"})

    assert error.location == "CROSSDOCK_PARTITIONS (environment)"
    assert error.hint == "fix or unset CROSSDOCK_PARTITIONS"


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL.replace(
            "      - system: erp",
            "      - system: erp\n        retry: &patient {max_attempts: 50, max_backoff_s: 900}\n"
            "  - name: customer-crm-to-erp-slow\n    source: {system: crm, entity: customer}\n"
            "    targets:\n      - system: erp\n        retry: {<<: *patient, max_attempts: 3}",
        ),
    )

    settings = load_settings(path, env={})

    slow = settings.flow("customer-crm-to-erp-slow").targets[0].retry
    assert (slow.max_attempts, slow.max_backoff_s) == (3, 900)


# --- secrets ---


def test_literal_secret_is_refused_with_a_reference_hint(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("env:SALESFORCE_CLIENT_SECRET", "s3cr3t-value"))

    error = load_error(path)

    assert error.location == f"{path}:7"
    assert "systems.crm.client_secret" in error.message
    assert "env:" in error.hint
    assert "file:" in error.hint
    assert "s3cr3t-value" not in str(error)


def test_literal_secret_nested_in_a_block_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        systems:
          crm:
            type: salesforce
            auth:
              token_url: https://login.example.com/services/oauth2/token
              securityToken: abc123
        """,
    )

    error = load_error(path)

    assert error.location == f"{path}:6"
    assert "systems.crm.auth.securityToken" in error.message


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("client_secret", True),
        ("api_key", True),
        ("apiKey", True),
        ("refresh_token", True),
        ("secret", True),
        ("token_url", False),
        ("password_file", False),
        ("partition_key", False),
        ("username", False),
    ],
)
def test_secret_like_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_secret_references_resolve_from_the_environment_given(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    env = {"SALESFORCE_CLIENT_SECRET": "sf-very-secret", "TRYTON_PASSWORD": "tryton-pw"}

    settings = load_settings(path, env=env)

    ref = settings.systems["crm"].options()["client_secret"]
    assert isinstance(ref, SecretRef)
    assert (ref.scheme, ref.target) == ("env", "SALESFORCE_CLIENT_SECRET")
    assert ref.resolve().get_secret_value() == "sf-very-secret"
    assert settings.systems["erp"].options()["password"].resolve().get_secret_value() == "tryton-pw"


def test_secret_references_resolve_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "client_secret"
    secret_file.write_text("from-a-file\n", encoding="utf-8")
    path = write(tmp_path, MINIMAL.replace("env:SALESFORCE_CLIENT_SECRET", f"file:{secret_file}"))

    ref = load_settings(path, env={}).systems["crm"].options()["client_secret"]

    assert ref.resolve().get_secret_value() == "from-a-file"
    secret_file.write_text("rotated", encoding="utf-8")
    assert ref.resolve().get_secret_value() == "rotated"  # read when needed, not cached


def test_secret_values_never_show_in_reprs_dumps_or_pickles(tmp_path: Path) -> None:
    env = {"SALESFORCE_CLIENT_SECRET": "sf-very-secret", "TRYTON_PASSWORD": "tryton-pw"}
    settings = load_settings(write(tmp_path, MINIMAL), env=env)
    ref = settings.systems["crm"].options()["client_secret"]
    resolved = ref.resolve()

    for text in (
        repr(ref),
        str(ref),
        repr(resolved),
        str(resolved),
        repr(settings),
        settings.model_dump_json(),
    ):
        assert "sf-very-secret" not in text
    assert repr(ref) == "SecretRef('env:SALESFORCE_CLIENT_SECRET')"
    assert b"sf-very-secret" not in pickle.dumps(ref)
    assert settings.model_dump()["systems"]["crm"]["client_secret"] == "env:SALESFORCE_CLIENT_SECRET"


def test_unresolvable_secrets_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing_env:
        SecretRef("env:NOT_SET_ANYWHERE", {}).resolve()
    assert missing_env.value.location == "env:NOT_SET_ANYWHERE"
    assert "export NOT_SET_ANYWHERE" in missing_env.value.hint

    with pytest.raises(ConfigError) as missing_file:
        SecretRef(f"file:{tmp_path / 'absent'}").resolve()
    assert "cannot read the secret file" in missing_file.value.message


def test_only_references_are_secret_refs() -> None:
    with pytest.raises(ValueError, match="not a secret reference"):
        SecretRef("hunter2")
    assert not SecretRef.is_reference("file:///srv/edi/inbox")
    assert SecretRef.is_reference("file:/run/secrets/x")


# --- the shipped example ---


def test_example_config_loads() -> None:
    settings = load_settings(REPO_ROOT / "crossdock.example.yaml", env={})

    assert set(settings.systems) == {"erp", "crm"}
    assert settings.systems["erp"].type == "tryton"
    assert settings.systems["crm"].type == "salesforce"
    assert [flow.name for flow in settings.flows] == [
        "customer-crm-to-erp",
        "customer-erp-to-crm",
        "item-erp-to-crm",
    ]
    assert settings.flow("customer-crm-to-erp").targets[0].entity == "customer"
    assert settings.ownership["customer"]["credit_limit"] == "erp"
    assert settings.ownership["customer"]["name"] == "crm"
    for flow in settings.flows:
        assert flow.governance.missing() == []  # `crossdock lint` passes the shipped example


def test_api_secrets_are_references_never_values(tmp_path: Path) -> None:
    config = tmp_path / "crossdock.yaml"
    config.write_text("api:\n  signing_keys: k1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI\n")
    with pytest.raises(ConfigError, match="secret reference"):
        load_settings(config, env={})
    config.write_text(
        "api:\n  inbound_webhooks:\n    carrier:\n      signing_secrets: [whsec_abc]\n      event_type: t\n"
    )
    with pytest.raises(ConfigError, match="secret reference"):
        load_settings(config, env={})
