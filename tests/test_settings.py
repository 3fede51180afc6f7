"""Settings: one table drives the dataclass, the environment, the flags and the README."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import millpond
from millpond.settings import SETTINGS, Settings, from_env

README = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults_with_an_empty_environment() -> None:
    assert from_env({}) == Settings()


def test_a_setting_from_the_environment() -> None:
    assert from_env({"MILLPOND_PORT": "9000"}).port == 9000


def test_the_real_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLPOND_RETENTION_DAYS", "7")
    assert from_env().retention_days == 7


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ("MILLPOND_DATA_DIR", "data_dir", "/srv/millpond"),
        ("MILLPOND_HOST", "host", "::"),
        ("MILLPOND_MAX_BODY_BYTES", "max_body_bytes", 1024),
        ("MILLPOND_RATE_LIMIT", "rate_limit", 2.5),
        ("MILLPOND_QUERY_TIMEOUT_SECONDS", "query_timeout_seconds", 0.5),
        ("MILLPOND_LOG_LEVEL", "log_level", "debug"),
    ],
)
def test_each_type_converts_from_its_variable(env: str, field: str, value: object) -> None:
    assert getattr(from_env({env: str(value)}), field) == value


def test_overrides_beat_the_environment() -> None:
    env = {"MILLPOND_PORT": "9000", "MILLPOND_HOST": "0.0.0.0"}
    settings = from_env(env, port=7000)
    assert (settings.port, settings.host) == (7000, "0.0.0.0")


def test_an_override_of_none_means_the_flag_was_not_given() -> None:
    assert from_env({"MILLPOND_PORT": "9000"}, port=None).port == 9000


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("MILLPOND_PORT", "eighty"),
        ("MILLPOND_PORT", "80.5"),
        ("MILLPOND_RATE_LIMIT", "fast"),
        ("MILLPOND_MAX_BODY_BYTES", "8MiB"),
    ],
)
def test_a_bad_value_names_the_variable(env: str, value: str) -> None:
    with pytest.raises(ValueError, match=rf"^{env}={value!r} is not a valid (int|float)$"):
        from_env({env: value})


def test_an_unknown_override_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown settings: \\['colour'\\]"):
        from_env({}, colour="blue")


@pytest.mark.parametrize("seconds", [0, 59, -1])
def test_a_nonce_window_under_a_minute_is_refused(seconds: int) -> None:
    with pytest.raises(ValueError, match="nonce_window_seconds must be at least 60"):
        Settings(nonce_window_seconds=seconds)


def test_a_nonce_window_of_a_minute_is_fine() -> None:
    assert Settings(nonce_window_seconds=60).nonce_window_seconds == 60
    assert from_env({"MILLPOND_NONCE_WINDOW_SECONDS": "60"}).nonce_window_seconds == 60


@pytest.mark.parametrize(
    "tls", [{"tls_cert": "cert.pem"}, {"tls_key": "key.pem"}], ids=["cert only", "key only"]
)
def test_tls_cert_and_key_come_together(tls: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="--tls-cert and --tls-key must be given together"):
        Settings(**tls)


@pytest.mark.parametrize("name", ["max_body_bytes", "max_line_bytes", "commit_max_rows"])
@pytest.mark.parametrize("value", [0, -1])
def test_sizes_must_be_positive(name: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"{name} must be positive"):
        Settings(**{name: value})


def test_the_text_index_is_on_or_off() -> None:
    assert Settings().text_index == "on"
    assert from_env({"MILLPOND_TEXT_INDEX": "off"}).text_index == "off"
    with pytest.raises(ValueError, match="text_index must be 'on' or 'off'"):
        from_env({"MILLPOND_TEXT_INDEX": "false"})


def test_an_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValueError, match="log_level must be one of"):
        from_env({"MILLPOND_LOG_LEVEL": "verbose"})


@pytest.mark.parametrize(
    ("changes", "url"),
    [
        ({}, "http://127.0.0.1:8080"),
        ({"host": "::1", "port": 9000}, "http://[::1]:9000"),
        ({"tls_cert": "c.pem", "tls_key": "k.pem", "port": 8443}, "https://127.0.0.1:8443"),
    ],
)
def test_base_url(changes: dict[str, object], url: str) -> None:
    assert Settings().replace(**changes).base_url == url


def test_paths_live_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path))
    assert settings.database_path.parent == tmp_path
    assert settings.admin_socket_path.parent == tmp_path


def test_settings_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


# -- the table agrees with everything it drives -------------------------------------------------


def test_every_setting_is_a_field_with_the_same_default_and_type() -> None:
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    assert [s.name for s in SETTINGS] == list(fields)
    for setting in SETTINGS:
        field = fields[setting.name]
        assert field.default == setting.default, setting.name
        assert field.type == setting.type.__name__, setting.name
        assert isinstance(setting.default, setting.type) or (
            setting.type is float and isinstance(setting.default, int)
        ), setting.name


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_names_of_flags_and_variables(setting: millpond.settings.Setting) -> None:
    assert setting.env == "MILLPOND_" + setting.name.upper()
    assert setting.flag == "--" + setting.name.replace("_", "-")
    assert setting.help.strip() and setting.help[0].isupper()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_the_readme_lists_every_setting(setting: millpond.settings.Setting) -> None:
    text = README.read_text(encoding="utf-8")
    assert setting.env in text, f"README.md does not mention {setting.env}"
    assert f"`{setting.flag}`" in text, f"README.md does not mention {setting.flag}"


def test_the_readme_settings_table_has_one_row_per_setting() -> None:
    row = re.compile(r"^\|\s*`(--[a-z0-9-]+)`\s*\|\s*`(MILLPOND_[A-Z0-9_]+)`", re.MULTILINE)
    rows = set(row.findall(README.read_text(encoding="utf-8")))
    assert rows == {(s.flag, s.env) for s in SETTINGS}


def test_the_public_api_is_pinned() -> None:
    assert sorted(millpond.__all__) == [
        "Clock",
        "FixedClock",
        "MillpondError",
        "Settings",
        "SystemClock",
        "__version__",
        "create_app",
    ]
    for name in millpond.__all__:
        assert getattr(millpond, name) is not None


@pytest.mark.parametrize("nice", [-1, 20])
def test_query_nice_is_a_nice_step_from_0_to_19(nice: int) -> None:
    with pytest.raises(ValueError, match="query_nice must be from 0 to 19"):
        Settings(query_nice=nice)
    assert from_env({"MILLPOND_QUERY_NICE": "0"}).query_nice == 0
