"""Settings: defaults, bad values stop the start with one clear line, all documented."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from portal.settings import SETTINGS, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def env(tmp_path, **values) -> dict[str, str]:
    return {"PORTAL_DATA_DIR": str(tmp_path), **values}


def test_defaults(tmp_path):
    settings = Settings.from_env(env(tmp_path))
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'portal.sqlite3'}"
    assert settings.is_sqlite and settings.env == "development" and not settings.is_https


def test_secret_key_is_generated_once_with_private_mode(tmp_path):
    first = Settings.from_env(env(tmp_path)).secret_key
    second = Settings.from_env(env(tmp_path)).secret_key
    assert first == second and len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


def test_secret_key_file_wins(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("k" * 40 + "\n")
    settings = Settings.from_env(env(tmp_path, PORTAL_SECRET_KEY="s" * 40, PORTAL_SECRET_KEY_FILE=str(key_file)))
    assert settings.secret_key == "k" * 40


def test_postgres_url_selects_postgres(tmp_path):
    settings = Settings.from_env(env(tmp_path, DATABASE_URL="postgres://u:p@db/portal"))
    assert settings.database_url == "postgresql://u:p@db/portal" and not settings.is_sqlite


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORTAL_BASE_URL", "portal.example.com", "PORTAL_BASE_URL must look like"),
        ("PORTAL_BASE_URL", "https://example.com/portal", "PORTAL_BASE_URL must look like"),
        ("PORTAL_ENV", "staging", "PORTAL_ENV must be"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must start with"),
        ("PORTAL_SECRET_KEY", "short", "at least 32 characters"),
        ("PORTAL_WORKERS", "many", "PORTAL_WORKERS must be a whole number"),
        ("PORTAL_SQLITE_READERS", "0", "PORTAL_SQLITE_READERS must be between 1 and 32"),
        ("PORTAL_LOG_LEVEL", "LOUD", "PORTAL_LOG_LEVEL must be"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(tmp_path, name, value, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env(env(tmp_path, **{name: value}))


def test_production_needs_https(tmp_path):
    with pytest.raises(SettingsError, match="https"):
        Settings.from_env(env(tmp_path, PORTAL_ENV="production", PORTAL_BASE_URL="http://portal.example.com"))
    assert Settings.from_env(env(tmp_path, PORTAL_ENV="production", PORTAL_BASE_URL="https://portal.example.com")).is_https


def test_unwritable_data_dir_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="PORTAL_DATA_DIR"):
        Settings.from_env({"PORTAL_DATA_DIR": "/proc/portal-cannot-be-here"})


def test_the_command_stops_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "portal.cli", "migrate"],
        env={**os.environ, "PORTAL_DATA_DIR": str(tmp_path), "PORTAL_ENV": "staging"},
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: PORTAL_ENV must be 'development' or 'production', got 'staging'"]


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|", readme, re.M))
    declared = {s.env for s in SETTINGS}
    assert declared - documented == set(), "settings missing from the README's configuration table"
    assert documented - declared == set(), "the README documents settings that do not exist"


def test_no_module_reads_the_environment_but_settings():
    offenders = []
    for path in (ROOT / "portal").rglob("*.py"):
        text = path.read_text()
        if path.name == "settings.py":
            continue
        if re.search(r"os\.environ(?!\.setdefault\(\"PICCOLO_CONF\")|os\.getenv", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_bucket_settings_are_read_and_checked(tmp_path):
    assert Settings.from_env(env(tmp_path)).storage_url == ""
    secret = tmp_path / "s3-secret"
    secret.write_text("from-the-file\n")
    settings = Settings.from_env(env(
        tmp_path, PORTAL_STORAGE_URL="s3://agency-files/portal/", PORTAL_S3_ENDPOINT="https://s3.example.com/",
        PORTAL_S3_REGION="eu-central-1", PORTAL_S3_ACCESS_KEY_ID="AKIA1", PORTAL_S3_SECRET_ACCESS_KEY="inline",
        PORTAL_S3_SECRET_ACCESS_KEY_FILE=str(secret), PORTAL_STORAGE_PRESIGN_SECONDS="300"))
    assert (settings.storage_url, settings.s3_endpoint, settings.s3_region) == (
        "s3://agency-files/portal", "https://s3.example.com", "eu-central-1")
    assert (settings.s3_access_key_id, settings.s3_secret_access_key, settings.storage_presign_seconds) == (
        "AKIA1", "from-the-file", 300)
    assert "from-the-file" not in repr(settings)  # never in a log line or a traceback
    assert Settings.from_env(env(tmp_path, PORTAL_S3_SECRET_ACCESS_KEY="inline")).s3_secret_access_key == "inline"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("PORTAL_STORAGE_URL", "https://bucket.example.com/x", "PORTAL_STORAGE_URL must look like s3://bucket/prefix"),
    ("PORTAL_STORAGE_URL", "s3:///no-bucket", "PORTAL_STORAGE_URL must look like s3://bucket/prefix"),
    ("PORTAL_S3_ENDPOINT", "s3.example.com", "PORTAL_S3_ENDPOINT must be an http(s) URL"),
    ("PORTAL_STORAGE_PRESIGN_SECONDS", "-1", "PORTAL_STORAGE_PRESIGN_SECONDS must be between 0 and 604800"),
    ("PORTAL_S3_SECRET_ACCESS_KEY_FILE", "/nonexistent/secret", "PORTAL_S3_SECRET_ACCESS_KEY_FILE '/nonexistent/secret' cannot be read"),
])
def test_a_bad_bucket_setting_names_itself(tmp_path, name, value, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env(env(tmp_path, **{name: value}))
