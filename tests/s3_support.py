"""A real S3-protocol server for the tests: moto's standalone server on a loopback port of its own.

No tests here. ``s3_server`` (session) starts it; ``s3_bucket`` makes a fresh bucket and sets the AWS
credentials boto3 reads from the environment; ``s3_config`` is the app settings that select it.
"""
import os
import uuid

import pytest

from .services import free_port, unavailable

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session", name="s3_server")
def s3_server_fixture():
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        unavailable("moto's S3 server", "pip install 'moto[server]' (the project's test extra)")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(name="s3_bucket")
def s3_bucket_fixture(s3_server, monkeypatch):
    """A fresh bucket's name; boto3 in this process and in servers started from it finds the credentials."""
    import boto3
    for name, value in CREDENTIALS.items():
        monkeypatch.setitem(os.environ, name, value)
    name = "chat-test-" + uuid.uuid4().hex[:12]
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture(name="s3_config")
def s3_config_fixture(s3_server, s3_bucket):
    return {"S3_BUCKET": s3_bucket, "S3_ENDPOINT_URL": s3_server, "S3_REGION": "us-east-1"}
