"""Settings: every one has its default in chat/config.py, and a supplied secret writes nothing to disk."""
import re
from pathlib import Path

import pytest
from flask import Flask

from chat import create_app
from chat.config import from_environment

CHAT = Path(__file__).resolve().parent.parent / "chat"
READ = re.compile(r"""config(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")


@pytest.fixture
def development(monkeypatch):
    """The environment of a fresh development checkout: no secret, no database, no Redis."""
    for name in ("SECRET_KEY", "CHAT_ENV", "FLASK_DEBUG", "DATABASE_URL", "REDIS_URL", "UPLOAD_FOLDER"):
        monkeypatch.delenv(name, raising=False)


def test_a_supplied_secret_key_writes_nothing_to_the_instance_folder(development, tmp_path):
    instance = tmp_path / "instance"
    app = create_app({"SECRET_KEY": "from-the-caller", "TESTING": True,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}"}, instance_path=str(instance))
    assert app.config["SECRET_KEY"] == "from-the-caller"
    assert not (instance / "secret_key").exists()
    app.extensions["chat.db"].dispose()


def test_without_a_secret_key_development_keeps_one_in_the_instance_folder(development, tmp_path):
    instance = tmp_path / "instance"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}"},
                     instance_path=str(instance))
    assert app.config["SECRET_KEY"] == (instance / "secret_key").read_text().strip()
    app.extensions["chat.db"].dispose()


def test_overrides_are_resolved_before_what_depends_on_them(tmp_path):
    env = {"CHAT_ENV": "production", "SECRET_KEY": "s"}
    assert from_environment(env, str(tmp_path))["DELIVERY_SYNC"] is False
    assert from_environment(env, str(tmp_path), {"TESTING": True})["DELIVERY_SYNC"] is True
    assert from_environment(env, str(tmp_path), {"TESTING": True, "DELIVERY_SYNC": False})["DELIVERY_SYNC"] is False


def test_every_setting_the_code_reads_has_its_default_in_config(tmp_path):
    defaults = from_environment({"CHAT_ENV": "production", "SECRET_KEY": "s"}, str(tmp_path))
    read = {name for path in CHAT.rglob("*.py") for name in READ.findall(path.read_text())}
    assert read, "the pattern no longer finds settings: fix READ"
    flask_own = set(Flask.default_config)  # Flask defines these, with their defaults
    assert sorted(read - set(defaults) - flask_own) == []
