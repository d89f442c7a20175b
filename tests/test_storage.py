"""The attachment stores: one contract for local disk and S3 (against a real S3 server on loopback), the app
choosing S3 from its settings, presigned downloads after the membership check, and files written through
one gunicorn worker read through another."""
import io

import pytest
import requests
from PIL import Image

from chat.storage import LocalStorage, S3Storage, from_config, local_storage_problem

from .s3_support import s3_bucket_fixture, s3_config_fixture, s3_server_fixture  # noqa: F401  (fixtures)
from .test_attachments import PDF, png_bytes, upload


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStorage(str(tmp_path / "uploads"))
    config = request.getfixturevalue("s3_config")
    return S3Storage(config["S3_BUCKET"], endpoint_url=config["S3_ENDPOINT_URL"], region=config["S3_REGION"])


def test_storage_contract(store):
    store.save("abcdef.png", io.BytesIO(b"\x89PNG bytes"), content_type="image/png")
    with store.open("abcdef.png") as f:
        assert f.read() == b"\x89PNG bytes"
    store.save("abcdef.png", io.BytesIO(b"replaced"))  # a key written again holds the new bytes
    with store.open("abcdef.png") as f:
        assert f.read() == b"replaced"
    with pytest.raises(FileNotFoundError):
        store.open("missing.png")
    store.delete("abcdef.png")
    store.delete("abcdef.png")  # deleting twice is fine
    with pytest.raises(FileNotFoundError):
        store.open("abcdef.png")
    for bad in ("", "../etc/passwd", "a/b", ".hidden", "a\\b", "x" * 300, "ok\n"):
        with pytest.raises(ValueError):
            store.save(bad, io.BytesIO(b"x"))


def test_only_s3_signs_urls(store):
    store.save("signed.pdf", io.BytesIO(PDF), content_type="application/pdf")
    url = store.signed_url("signed.pdf", 60, content_type="application/pdf", disposition="attachment")
    if isinstance(store, LocalStorage):
        assert url is None
    else:
        got = requests.get(url, timeout=10)
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["Content-Type"] == "application/pdf"
        assert requests.get(url.split("?")[0], timeout=10).status_code == 403  # unsigned: refused


def test_the_app_keeps_attachments_in_s3_when_s3_bucket_is_set(app, api_as, s3_config, alice, bob, dave, direct):
    assert isinstance(from_config(dict(app.config, S3_BUCKET=None)), LocalStorage)
    store = app.extensions["chat.storage"] = from_config(dict(app.config, **s3_config))
    assert isinstance(store, S3Storage) and store.bucket == s3_config["S3_BUCKET"]
    a = api_as(alice)
    att = upload(a, png_bytes(), "p.png").json
    a.post(f"/conversations/{direct['id']}/messages", json={"body": "", "attachment_ids": [att["id"]]})
    path = att["url"][len("/api/v1"):]
    got = api_as(bob).get(path)
    assert got.status_code == 200 and Image.open(io.BytesIO(got.data)).size == (3, 2)
    stored = got.data
    keys = sorted(o["Key"] for o in store.client.list_objects_v2(Bucket=store.bucket).get("Contents", []))
    assert len(keys) == 2 and keys[1].endswith(".png") and keys[0].endswith("-thumb.webp")  # picture, thumbnail

    app.config["S3_SIGNED_URL_SECONDS"] = 60
    got = api_as(bob).get(path)
    assert got.status_code == 302 and "X-Amz-Expires=60" in got.headers["Location"]
    fetched = requests.get(got.headers["Location"], timeout=10)
    assert fetched.content == stored and fetched.headers["Content-Type"] == "image/png"
    refused = api_as(dave).get(path)
    assert refused.status_code == 404 and "Location" not in refused.headers  # the check comes first


def test_local_storage_in_production_with_several_workers_is_explained():
    production = {"CHAT_ENV": "production", "UPLOAD_FOLDER": "/x"}
    problem = local_storage_problem(production, {"CHAT_SERVER_WORKERS": "2"})
    assert "S3_BUCKET is not set" in problem and "2 worker processes" in problem
    assert local_storage_problem(production, {"CHAT_SERVER_WORKERS": "1"}) is None
    assert local_storage_problem(dict(production, S3_BUCKET="b"), {"CHAT_SERVER_WORKERS": "2"}) is None
    assert local_storage_problem({"CHAT_ENV": "development"}, {"WEB_CONCURRENCY": "4"}) is None


@pytest.mark.timeout(180)
def test_an_upload_through_one_server_is_read_through_another_and_survives_restarts(s3_config, tmp_path):
    """Two gunicorn servers, as two dynos: each with a local disk of its own, sharing the S3 bucket."""
    from .live_support import Gunicorn, OwnDatabase, seed
    from .services import RedisServer

    database = OwnDatabase()
    redis_server = RedisServer().start()
    servers = []
    try:
        people, groups = seed(database.url, [2])
        alice, bob = people
        for name in ("one", "two"):
            settings = dict(s3_config, UPLOAD_FOLDER=str(tmp_path / name))
            servers.append(Gunicorn(database.url, redis_server.url, workers=1, settings=settings).start())
        one, two = servers
        sent = requests.post(one.url("/api/v1/attachments"), headers={"Authorization": f"Bearer {alice['token']}"},
                             files={"file": ("p.pdf", PDF, "application/pdf")}, timeout=10)
        assert sent.status_code == 201, sent.text
        att = sent.json()
        reply = one.post(f"/conversations/{groups[0]['id']}/messages", alice["token"],
                         {"body": "notes", "attachment_ids": [att["id"]]})
        assert reply.status_code == 201, reply.text
        one.stop()  # the first "dyno" and its disk are gone
        got = requests.get(two.url(att["url"]), headers={"Authorization": f"Bearer {bob['token']}"}, timeout=10)
        assert got.status_code == 200 and got.content == PDF
        assert not any((tmp_path / name).exists() for name in ("one", "two"))  # nothing went to local disk
    finally:
        for server in servers:
            server.stop()
        redis_server.stop()
        database.drop()
