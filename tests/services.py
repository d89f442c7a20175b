"""Finding the real services the tests use: a fresh Postgres database and Redis.

A test that needs a service it cannot reach fails when ``CI=true`` and is skipped elsewhere, with a reason
that says how to provide it.
"""
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest

PG_ADMIN_URL = os.environ.get("DATABASE_TEST_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def unavailable(what, how):
    message = f"{what} is not reachable: {how}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def create_postgres_database():
    """Create an empty database; returns (sqlalchemy url, drop function)."""
    import psycopg
    name = "chat_test_" + uuid.uuid4().hex[:12]
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'create database "{name}"')
    except psycopg.OperationalError as error:
        unavailable("PostgreSQL", f"start it or set DATABASE_TEST_URL (tried {PG_ADMIN_URL}: {error})")
    base = PG_ADMIN_URL.rsplit("/", 1)[0]

    def drop():
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')

    return f"{base}/{name}", drop


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own, on its own port, that a test may stop and start."""

    def __init__(self, port=None):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            unavailable("redis-server", "install Redis (apt-get install redis-server) so tests can start their own")
        self.port = port or free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--maxclients", "20000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
