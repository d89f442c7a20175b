"""Production serving: the Procfile, gunicorn.conf.py, and gevent-friendly database access."""
import importlib.util
import os
import subprocess
import sys
import time

import pytest
import requests

from .live_support import ROOT, Listener, wait_until
from .services import PG_ADMIN_URL, free_port, unavailable


def load_config(env):
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        path = os.path.join(ROOT, "gunicorn.conf.py")
        spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_procfile_runs_gunicorn_with_the_config_and_migrates_on_release():
    with open(os.path.join(ROOT, "Procfile")) as f:
        lines = dict(line.split(":", 1) for line in f.read().splitlines() if line.strip())
    assert lines["web"].strip() == "gunicorn app:app -c gunicorn.conf.py"
    assert lines["release"].strip() == "flask --app app db upgrade"


def test_config_uses_gevent_without_preload_and_reads_the_environment():
    conf = load_config({"PORT": "5123", "WEB_CONCURRENCY": "3"})
    assert conf.worker_class == "gevent" and conf.preload_app is False
    assert conf.worker_connections >= 10_000
    assert conf.bind.endswith(":5123") and conf.workers == 3
    assert 0 < conf.graceful_timeout < 30  # Heroku kills 30 s after SIGTERM
    assert conf.timeout >= 30


class FakeServer:
    def __init__(self, workers):
        self.cfg = type("cfg", (), {"workers": workers})()


def test_config_refuses_several_workers_without_redis(monkeypatch):
    conf = load_config({})
    monkeypatch.setenv("CHAT_SERVER_WORKERS", "1")  # on_starting sets it; monkeypatch puts it back
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        conf.on_starting(FakeServer(2))
    conf.on_starting(FakeServer(1))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    conf.on_starting(FakeServer(4))


def _gunicorn(tmp_path, workers, extra_env=None):
    port = free_port()
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", WEB_CONCURRENCY=str(workers), SECRET_KEY="s",
               CHAT_ENV="production", GUNICORN_ACCESS_LOG="/dev/null",
               DATABASE_URL=f"sqlite:///{tmp_path / 'chat.sqlite3'}", UPLOAD_FOLDER=str(tmp_path / "uploads"))
    env.pop("REDIS_URL", None)
    env.update(extra_env or {})
    spec = "chat:create_app({'PASSWORD_HASH_COST': 'fast', 'RATELIMIT_ENABLED': False, 'SSE_HEARTBEAT_SECONDS': 1})"
    log = open(tmp_path / "gunicorn.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", spec, "-c", "gunicorn.conf.py"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, port, tmp_path / "gunicorn.log"


@pytest.mark.slow
def test_gunicorn_will_not_start_several_workers_on_the_in_process_broker(tmp_path):
    process, _, log = _gunicorn(tmp_path, workers=2)
    assert process.wait(30) != 0
    assert "Set REDIS_URL, or run one worker" in log.read_text()


@pytest.mark.slow
def test_embedded_mode_serves_live_events_from_one_gevent_worker(tmp_path):
    process, port, log = _gunicorn(tmp_path, workers=1)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz", process, log), 30, "gunicorn")
        assert requests.get(f"http://127.0.0.1:{port}/healthz").json()["broker"] == "ok"
        people = [requests.post(f"{base}/auth/signup", json={"email": f"{n}@example.com", "username": n,
                                                             "password": "password123"}).json()
                  for n in ("ann", "ben")]
        ann = {"Authorization": f"Bearer {people[0]['token']}"}
        direct = requests.post(f"{base}/conversations/direct", json={"user_id": people[1]["user"]["id"]},
                               headers=ann).json()
        listener = Listener(port, people[1]["token"])
        listener.start()
        assert listener.opened.wait(10)
        for i in range(20):
            assert requests.post(f"{base}/conversations/{direct['id']}/messages", json={"body": f"m{i}"},
                                 headers=ann).status_code == 201
        wait_until(lambda: len(listener.created()) == 20, 10, "the messages")
        assert listener.created() == list(range(1, 21))
        assert requests.post(f"{base}/conversations/{direct['id']}/typing", headers=ann).status_code == 204
        wait_until(lambda: listener.of_type("typing"), 5, "typing")
        listener.close()
        assert requests.get(f"{base}/events", params={"token": people[1]["token"]}).status_code == 401
    finally:
        process.terminate()
        process.wait(30)


def _answers(url, process, log):
    assert process.poll() is None, log.read_text()
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


GEVENT_PSYCOPG = """
from gevent import monkey
monkey.patch_all()
import sys, time
import gevent, psycopg
def nap():
    with psycopg.connect(sys.argv[1]) as conn:
        conn.execute("select pg_sleep(0.5)")
started = time.monotonic()
gevent.joinall([gevent.spawn(nap) for _ in range(4)], raise_error=True)
print(round(time.monotonic() - started, 2))
"""


def test_psycopg_waits_cooperatively_under_gevent():
    import psycopg
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        unavailable("PostgreSQL", str(error))
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", GEVENT_PSYCOPG, PG_ADMIN_URL], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert float(out) < 1.5, f"four 0.5 s queries in four greenlets took {out} s: they ran one at a time"
    assert time.monotonic() - started < 10
