"""Several files in one message from the composer's plain form, uploaded sound files measured like
recordings and shown in the same playback bubble, the error sentences, and no local disk in production with
several workers (refused as the in-process broker is)."""
import html
import importlib.util
import io
import os
import re
import wave

import pytest
import sqlalchemy as sa

from chat import create_app
from chat.actions import history
from chat.config import ConfigError
from chat.schema import attachments as attachments_table
from chat.storage import refuse_local_storage_in_production

from .live_support import ROOT
from .test_attachments import PDF, png_bytes, upload
from .web_support import web_as_fixture  # noqa: F401  (fixture)


def text(response):
    """The page as a person reads it (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


def wav_bytes(seconds=1.5, rate=8000):
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return out.getvalue()


def _stored_attachments(app):
    with app.extensions["chat.db"].engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(attachments_table)).scalar()


def _stored_files(app):
    root = app.config["UPLOAD_FOLDER"]
    return sorted(name for _, _, names in os.walk(root) for name in names) if os.path.isdir(root) else []


# --- several files from the plain form ---------------------------------------------------------------

def test_the_plain_form_sends_several_files_in_one_message(app, web_as, alice, bob, direct):
    me = web_as(alice)
    page = text(me.get(f"/c/{direct['id']}"))
    assert re.search(r'<input type="file" name="file" multiple', page)
    assert 'data-max-upload-bytes="10485760"' in page and 'data-max-files="10"' in page
    files = [(io.BytesIO(png_bytes()), "one.png"), (io.BytesIO(PDF), "two.pdf"),
             (io.BytesIO(wav_bytes()), "three.wav")]
    r = me.post(f"/c/{direct['id']}/messages", {"body": "three files", "file": files},
                content_type="multipart/form-data")
    assert r.status_code == 303
    message = history.page_messages(bob["id"], direct["id"], limit=5)["messages"][-1]
    assert message["body"] == "three files"
    assert [a["filename"] for a in message["attachments"]] == ["one.png", "two.pdf", "three.wav"]
    assert [a["content_type"] for a in message["attachments"]] == ["image/png", "application/pdf", "audio/x-wav"]


def test_one_refused_file_refuses_the_send_names_the_file_and_stores_nothing(app, web_as, alice, direct):
    me = web_as(alice)
    files = [(io.BytesIO(png_bytes()), "fine.png"), (io.BytesIO(b"<script>x</script>"), "evil.png")]
    r = me.post(f"/c/{direct['id']}/messages", {"body": "x", "file": files}, content_type="multipart/form-data")
    assert r.status_code == 422
    assert "evil.png: This kind of file can't be sent." in text(r)
    assert _stored_attachments(app) == 0 and _stored_files(app) == []
    assert history.page_messages(alice["id"], direct["id"], limit=5)["messages"] == []


def test_a_send_refused_after_the_uploads_keeps_none_of_them(app, web_as, alice, direct):
    me = web_as(alice)
    files = [(io.BytesIO(png_bytes()), "a.png"), (io.BytesIO(PDF), "b.pdf")]
    r = me.post(f"/c/{direct['id']}/messages", {"body": "x" * 20_000, "file": files},
                content_type="multipart/form-data", htmx=True)
    assert r.status_code == 422 and "<html" not in text(r)
    assert _stored_attachments(app) == 0 and _stored_files(app) == []


def test_more_than_ten_files_is_a_sentence(app, web_as, alice, direct):
    me = web_as(alice)
    files = [(io.BytesIO(PDF), f"f{i}.pdf") for i in range(11)]
    r = me.post(f"/c/{direct['id']}/messages", {"body": "x", "file": files}, content_type="multipart/form-data",
                htmx=True)
    assert r.status_code == 422
    assert "A message can carry at most 10 files; 11 were chosen." in text(r)
    assert _stored_attachments(app) == 0


def test_the_form_with_text_only_still_sends(app, web_as, alice, bob, direct):
    r = web_as(alice).post(f"/c/{direct['id']}/messages", {"body": "just text"})
    assert r.status_code == 303
    assert history.page_messages(bob["id"], direct["id"], limit=5)["messages"][-1]["attachments"] == []


# --- uploaded sound: measured on the server, the same bubble as a recording ---------------------------

def test_an_uploaded_sound_file_is_measured_and_gets_the_playback_bubble(app, api_as, web_as, alice, bob, direct):
    att = upload(api_as(alice), wav_bytes(seconds=2.25), "memo.wav").json
    assert att["content_type"] == "audio/x-wav" and att["duration_ms"] == 2250
    api_as(alice).post(f"/conversations/{direct['id']}/messages", json={"body": "", "attachment_ids": [att["id"]]})
    page = text(web_as(bob).get(f"/c/{direct['id']}"))
    bubble = re.search(r'<div class="attachment attachment--audio" data-controller="voice-player">.*?</div>', page)
    assert bubble, page
    assert 'data-duration-ms="2250">0:02<' in bubble.group(0)
    assert f'src="{att["url"]}"' in bubble.group(0) and "<audio controls" in bubble.group(0)


def test_a_sound_file_over_five_minutes_is_refused_with_its_length(app, api_as, alice):
    r = upload(api_as(alice), wav_bytes(seconds=301, rate=1000), "long.wav")
    assert r.status_code == 422
    assert r.json["error"] == {"code": "invalid", "field": "file",
                               "message": "This recording is 5:01 long; the limit is 5 minutes."}


# --- error sentences, in the API and the page --------------------------------------------------------

@pytest.mark.parametrize("data, name, sentence", [
    (b"", "empty.pdf", "This file is empty."),
    (b"plain text, no type", "notes.txt", "This kind of file can't be sent. Pictures (PNG, JPEG, GIF, WebP), "
                                          "audio, PDF and ZIP files can."),
    (b"RIFF\x10\x00\x00\x00WAVEfmt garbage", "broken.wav", "This sound file can't be read."),
    (PDF, "bad\x07name.pdf", "This file's name contains control characters; rename it and try again."),
])
def test_upload_refusals_are_sentences_on_the_api_and_the_page(app, api_as, web_as, alice, direct, data, name,
                                                               sentence):
    r = upload(api_as(alice), data, name)
    assert r.status_code == 422 and r.json["error"]["message"] == sentence
    r = web_as(alice).post(f"/c/{direct['id']}/messages", {"body": "x", "file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data", htmx=True)
    assert r.status_code == 422 and sentence in text(r)


# --- production with several workers needs a shared store --------------------------------------------

def test_the_app_refuses_local_storage_in_production_with_several_workers(tmp_path, monkeypatch):
    production = {"CHAT_ENV": "production", "UPLOAD_FOLDER": "/x"}
    with pytest.raises(ConfigError, match=r"S3_BUCKET is not set.*2 worker processes"):
        refuse_local_storage_in_production(production, {"CHAT_SERVER_WORKERS": "2"})
    refuse_local_storage_in_production(production, {"CHAT_SERVER_WORKERS": "1"})
    refuse_local_storage_in_production(dict(production, S3_BUCKET="b"), {"CHAT_SERVER_WORKERS": "2"})
    refuse_local_storage_in_production({"CHAT_ENV": "development"}, {"CHAT_SERVER_WORKERS": "4"})
    refuse_local_storage_in_production(production, {"WEB_CONCURRENCY": "4"})  # `flask db upgrade` on a dyno
    refuse_local_storage_in_production(dict(production, UPLOAD_FOLDER_SHARED=True), {"CHAT_SERVER_WORKERS": "2"})

    monkeypatch.setenv("CHAT_ENV", "production")
    monkeypatch.setenv("CHAT_SERVER_WORKERS", "2")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    config = {"SECRET_KEY": "s", "DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}",
              "UPLOAD_FOLDER": str(tmp_path / "uploads")}
    with pytest.raises(ConfigError, match="Set S3_BUCKET"):
        create_app(config, instance_path=str(tmp_path))
    app = create_app(dict(config, S3_BUCKET="bucket", S3_REGION="us-east-1"), instance_path=str(tmp_path))
    assert app.extensions["chat.storage"].name == "s3"
    app.extensions["chat.db"].dispose()


def _gunicorn_config():
    spec = importlib.util.spec_from_file_location("gunicorn_conf_storage", os.path.join(ROOT, "gunicorn.conf.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Server:
    def __init__(self, workers):
        self.cfg = type("cfg", (), {"workers": workers})()


def test_gunicorn_refuses_several_workers_on_local_storage_in_production(monkeypatch):
    conf = _gunicorn_config()
    monkeypatch.setenv("CHAT_SERVER_WORKERS", "1")  # on_starting sets it; monkeypatch puts it back
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CHAT_ENV", "production")
    monkeypatch.delenv("S3_BUCKET", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match=r"S3_BUCKET is not set.*with 2 workers in production"):
        conf.on_starting(_Server(2))
    conf.on_starting(_Server(1))
    monkeypatch.setenv("S3_BUCKET", "bucket")
    conf.on_starting(_Server(3))
    monkeypatch.delenv("S3_BUCKET")
    monkeypatch.setenv("UPLOAD_FOLDER_SHARED", "1")  # one machine, one disk every worker sees
    conf.on_starting(_Server(3))
    monkeypatch.delenv("UPLOAD_FOLDER_SHARED")
    with pytest.raises(RuntimeError, match="UPLOAD_FOLDER_SHARED=1"):
        conf.on_starting(_Server(2))
    monkeypatch.setenv("CHAT_ENV", "development")
    conf.on_starting(_Server(3))


@pytest.mark.slow
def test_a_production_gunicorn_with_two_workers_and_no_bucket_does_not_start(tmp_path):
    import subprocess
    import sys

    from .services import free_port
    env = dict(os.environ, PORT=str(free_port()), HOST="127.0.0.1", WEB_CONCURRENCY="2", SECRET_KEY="s",
               CHAT_ENV="production", REDIS_URL="redis://127.0.0.1:1/0", GUNICORN_ACCESS_LOG="/dev/null",
               DATABASE_URL=f"sqlite:///{tmp_path / 'chat.sqlite3'}", UPLOAD_FOLDER=str(tmp_path / "uploads"))
    env.pop("S3_BUCKET", None)
    env.pop("UPLOAD_FOLDER_SHARED", None)
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "app:app", "-c", "gunicorn.conf.py"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        assert process.wait(30) != 0
    assert "S3_BUCKET is not set" in log.read_text() and "run one worker (WEB_CONCURRENCY=1)" in log.read_text()
