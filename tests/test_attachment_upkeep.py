"""Files go when their message goes (404 for everyone, the uploader too, and gone from the store, local disk
and S3 alike); uploads never sent are collected after a day by the relay's sweep or ``flask attachments
prune``."""
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from chat.actions.attachments import prune_unattached
from chat.schema import attachments, utcnow
from chat.storage import from_config

from .s3_support import s3_bucket_fixture, s3_config_fixture, s3_server_fixture  # noqa: F401  (fixtures)
from .test_attachments import PDF, png_bytes, upload


@pytest.fixture(params=["local", "s3"])
def store(request, app):
    """The app's store: its local folder, or a fresh S3 bucket on the test's S3 server."""
    if request.param == "s3":
        app.extensions["chat.storage"] = from_config(dict(app.config, **request.getfixturevalue("s3_config")))
    return app.extensions["chat.storage"]


def keys(app):
    with app.extensions["chat.db"].engine.connect() as conn:
        rows = conn.execute(sa.select(attachments.c.storage_key, attachments.c.thumbnail_key)).all()
    return [k for row in rows for k in row if k]


def exists(store, key):
    try:
        store.open(key).close()
        return True
    except FileNotFoundError:
        return False


def test_deleting_a_message_deletes_its_files_for_everyone(app, api_as, store, alice, bob, book_club):
    a = api_as(alice)
    picture, pdf = upload(a, png_bytes(), "p.png").json, upload(a, PDF, "d.pdf").json
    stored = keys(app)
    assert len(stored) == 3 and all(exists(store, k) for k in stored)  # picture, its thumbnail, the PDF
    m = a.post(f"/conversations/{book_club['id']}/messages",
               json={"body": "both", "attachment_ids": [picture["id"], pdf["id"]]}).json
    assert a.delete(f"/messages/{m['id']}").status_code == 204
    for person in (alice, bob):
        for url in (picture["url"], picture["thumbnail_url"], pdf["url"]):
            assert api_as(person).get(url[len("/api/v1"):]).status_code == 404
    assert keys(app) == [] and not any(exists(store, k) for k in stored)
    # The upload is gone: it cannot be sent again.
    r = a.post(f"/conversations/{book_club['id']}/messages", json={"body": "again", "attachment_ids": [pdf["id"]]})
    assert r.status_code == 422


def test_a_group_admin_deleting_someone_elses_message_deletes_its_files(app, api_as, store, alice, bob, book_club):
    att = upload(api_as(bob), PDF, "bobs.pdf").json
    m = api_as(bob).post(f"/conversations/{book_club['id']}/messages",
                         json={"body": "", "attachment_ids": [att["id"]]}).json
    assert api_as(alice).delete(f"/messages/{m['id']}").status_code == 204  # alice owns the group
    assert api_as(bob).get(att["url"][len("/api/v1"):]).status_code == 404
    assert keys(app) == []


def _age(app, attachment_id, hours):
    with app.extensions["chat.db"].engine.begin() as conn:
        conn.execute(attachments.update().where(attachments.c.id == attachment_id)
                     .values(created_at=utcnow() - timedelta(hours=hours)))


def test_unsent_uploads_older_than_a_day_are_pruned(app, api_as, store, alice, direct):
    a = api_as(alice)
    old, fresh, sent = (upload(a, png_bytes(), f"{n}.png").json for n in ("old", "fresh", "sent"))
    a.post(f"/conversations/{direct['id']}/messages", json={"body": "", "attachment_ids": [sent["id"]]})
    for att in (old, sent):
        _age(app, att["id"], 25)
    _age(app, fresh["id"], 23)
    old_keys = [k for k in keys(app) if exists(store, k)]
    assert prune_unattached() == 1
    assert a.get(old["url"][len("/api/v1"):]).status_code == 404
    assert a.get(fresh["url"][len("/api/v1"):]).status_code == 200
    assert a.get(sent["url"][len("/api/v1"):]).status_code == 200  # sent files stay, however old
    assert len(keys(app)) == 4 and len(set(old_keys) - set(keys(app))) == 2
    assert not any(exists(store, k) for k in set(old_keys) - set(keys(app)))


def test_flask_attachments_prune(app, api_as, runner, alice):
    att = upload(api_as(alice), io.BytesIO(PDF).read(), "d.pdf").json
    _age(app, att["id"], 25)
    result = runner.invoke(args=["attachments", "prune"])
    assert result.exit_code == 0 and "Deleted 1 unsent upload(s)." in result.output
    assert runner.invoke(args=["attachments", "prune", "--older-than", "0"]).output.startswith("Deleted 0")


def test_the_relay_upkeep_runs_the_prune(app):
    hooks = app.extensions["chat.relay"].upkeep_hooks
    assert "prune_unattached" in [h.__name__ for h in hooks]
