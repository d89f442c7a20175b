"""Your own profile: the avatar endpoints, the settings page, and ``user.updated`` reaching the people who see
you exactly once (shared/API.md: ``POST``/``DELETE /api/v1/me/avatar``)."""
import io
import re
import time

import psycopg
import pytest
from PIL import Image

from chat.actions import accounts, conversations
from chat.web import live

from .test_attachments import PDF, gif_header, png_header
from .test_delivery_outage import fresh_app, wait_connected
from .test_delivery_redis import own_redis  # noqa: F401  (fixture)
from .test_events_api import app_fast, open_stream  # noqa: F401  (fixture)
from .test_pictures import jpeg_with_gps, stored_files
from .test_relay_screen import OUTSIDER_ID, listen, relay, unpublished, write_rows  # noqa: F401  (fixtures)
from .test_rls import Raw
from .web_support import text, web_as_fixture  # noqa: F401  (fixture)


def picture(width=300, height=100, color="red", fmt="PNG"):
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), "blue")
    image.paste(Image.new("RGB", (height, height), color), ((width - height) // 2, 0))  # the centre square
    image.save(out, fmt)
    return out.getvalue()


def post_avatar(api, data, name="me.png", mimetype=None):
    upload = (io.BytesIO(data), name, mimetype) if mimetype else (io.BytesIO(data), name)
    return api.post("/me/avatar", data={"file": upload}, content_type="multipart/form-data", json=None)


def fetch(api, url):
    return api.get(url[len("/api/v1"):])


def test_an_uploaded_avatar_is_served_as_its_centre_square_to_anyone_signed_in(api_as, alice, dave):
    r = post_avatar(api_as(alice), picture())
    assert r.status_code == 200, r.json
    me = r.json
    assert me["email"] == "alice@example.com"
    url = me["avatar_url"]
    assert re.fullmatch(rf"/api/v1/users/{alice['id']}/avatar\?v=avatar-[0-9a-f]{{32}}", url)
    assert api_as(dave).get(f"/users/{alice['id']}").json["avatar_url"] == url  # no conversation shared
    got = fetch(api_as(dave), url)
    assert got.status_code == 200 and got.mimetype == "image/webp"
    assert got.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in got.headers["Content-Security-Policy"]
    assert got.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    with Image.open(io.BytesIO(got.data)) as image:
        assert image.size == (256, 256) and not image.info.get("exif")
        assert image.convert("RGB").getpixel((128, 128))[0] > 200  # the red centre, not the blue sides
        assert image.convert("RGB").getpixel((2, 2))[0] > 200
    unversioned = api_as(dave).get(f"/users/{alice['id']}/avatar")
    assert unversioned.status_code == 200 and unversioned.headers["Cache-Control"] == "private, no-cache"


def test_metadata_is_stripped_and_orientation_applied(api_as, alice):
    url = post_avatar(api_as(alice), jpeg_with_gps(), "phone.jpg").json["avatar_url"]
    data = fetch(api_as(alice), url).data
    assert b"SpyCam" not in data and b"secret comment" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (256, 256) and not image.getexif()


def test_replacing_and_removing_delete_the_old_file(app, api_as, alice, bob):
    a = api_as(alice)
    first = post_avatar(a, picture(color="red")).json["avatar_url"]
    assert len(stored_files(app)) == 1
    second = post_avatar(a, picture(color="green")).json["avatar_url"]
    assert second != first and len(stored_files(app)) == 1
    assert fetch(api_as(bob), first).status_code == 200  # the name is the person's: it serves the current one
    gone = a.delete("/me/avatar")
    assert gone.status_code == 200 and gone.json["avatar_url"] is None and gone.json["email"]
    assert stored_files(app) == []
    assert fetch(api_as(bob), second).status_code == 404
    assert a.delete("/me/avatar").status_code == 200  # removing twice is harmless


def test_an_avatar_address_replaces_an_upload_through_the_same_patch(app, api_as, alice):
    a = api_as(alice)
    post_avatar(a, picture())
    r = a.patch("/me", json={"avatar_url": "https://example.com/me.png", "display_name": "Alice A."})
    assert r.status_code == 200 and r.json["avatar_url"] == "https://example.com/me.png"
    assert r.json["display_name"] == "Alice A." and stored_files(app) == []
    assert post_avatar(a, picture()).json["avatar_url"].startswith("/api/v1/users/")


@pytest.mark.parametrize("data,name,mimetype,message", [
    (PDF, "me.png", "image/png", "An avatar must be a picture: PNG, JPEG, GIF or WebP."),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "me.svg", "image/svg+xml", "An avatar must be a picture"),
    (b"", "me.png", "image/png", "This file is empty."),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png", "image/png", "This picture can't be read."),
    (png_header(65535, 65535), "bomb.png", "image/png", "the limit is 40 megapixels"),
    (gif_header(65535, 65535), "bomb.gif", "image/gif", "the limit is 40 megapixels"),
])
def test_bad_pictures_are_a_422_naming_file_and_keep_the_old_avatar(app, api_as, alice, data, name, mimetype,
                                                                     message):
    a = api_as(alice)
    before = post_avatar(a, picture()).json["avatar_url"]
    r = post_avatar(a, data, name, mimetype)
    assert r.status_code == 422, r.json
    assert r.json["error"]["field"] == "file" and message in r.json["error"]["message"]
    assert a.get("/me").json["avatar_url"] == before and len(stored_files(app)) == 1


def test_no_file_and_too_large(app, api_as, alice):
    a = api_as(alice)
    r = a.post("/me/avatar", data={}, content_type="multipart/form-data", json=None)
    assert r.status_code == 422 and r.json["error"]["field"] == "file"
    app.config["MAX_UPLOAD_BYTES"] = 1000
    r = post_avatar(a, picture(3000, 3000))
    assert r.status_code == 413 and r.json["error"]["field"] == "file"
    assert a.get("/me").json["avatar_url"] is None and stored_files(app) == []


def test_signed_out_people_get_401_and_unknown_avatars_404(web_as, api_as, alice, bob):
    anonymous = api_as(None)
    assert post_avatar(anonymous, picture()).status_code == 401
    assert anonymous.delete("/me/avatar").status_code == 401
    url = post_avatar(api_as(alice), picture()).json["avatar_url"]
    assert fetch(anonymous, url).status_code == 401
    assert api_as(alice).get(f"/users/{bob['id']}/avatar").status_code == 404  # bob has none
    assert api_as(alice).get("/users/not-a-user/avatar").status_code == 404
    # A cookie-signed-in request needs the CSRF token, as every other write does.
    web = web_as(alice)
    refused = web.client.delete("/api/v1/me/avatar")
    assert refused.status_code == 400 and api_as(alice).get("/me").json["avatar_url"] == url
    assert web.client.delete("/api/v1/me/avatar", headers={"X-CSRFToken": web.token}).status_code == 200


# --- live: user.updated --------------------------------------------------------------------------------------

def test_a_profile_change_reaches_each_person_who_shares_a_conversation_once(api_as, record, alice, bob, carol,
                                                                             dave, direct, book_club):
    rec = record(alice, bob, carol, dave)
    api_as(alice).patch("/me", json={"display_name": "Alice Liddell", "bio": "Down the rabbit hole"})
    for person in (alice, bob, carol):  # bob shares two conversations with her, and hears it once
        events = rec.take(person)
        assert [e.type for e in events] == ["user.updated"], person["username"]
        data = events[0].data
        assert data["id"] == alice["id"] and data["display_name"] == "Alice Liddell"
        assert data["bio"] == "Down the rabbit hole" and "email" not in data
    rec.assert_nothing_for(dave)
    url = post_avatar(api_as(alice), picture()).json["avatar_url"]
    assert [e.data["avatar_url"] for e in rec.take(bob)] == [url]
    api_as(alice).delete("/me/avatar")
    assert [e.data["avatar_url"] for e in rec.take(bob)] == [None]
    api_as(alice).delete("/me/avatar")  # nothing to remove: nothing to tell
    rec.assert_nothing_for(dave, bob)


def test_a_refused_change_records_nothing(api_as, record, alice, bob, direct):
    rec = record(alice, bob)
    assert api_as(alice).patch("/me", json={"display_name": "x" * 81}).status_code == 422
    assert api_as(alice).patch("/me", json={"display_name": "Alice", "bio": ""}).status_code == 200  # the same
    assert post_avatar(api_as(alice), PDF).status_code == 422
    rec.assert_nothing_for(alice, bob)


def test_profile_changes_replay_exactly_once_on_resume(app_fast, api_as, alice, bob, direct, book_club):  # noqa: F811
    response, reader = open_stream(api_as(bob))
    api_as(alice).post(f"/conversations/{direct['id']}/messages", json={"body": "hi"})
    reader.events(2)
    last_id = reader.last_id
    response.close()
    api_as(alice).patch("/me", json={"display_name": "Alice One"})
    api_as(alice).patch("/me", json={"bio": "two"})
    response, reader = open_stream(api_as(bob), last_event_id=last_id)
    events = reader.events(2)
    assert [e["event"] for e in events] == ["user.updated", "user.updated"]
    assert events[-1]["json"]["display_name"] == "Alice One" and events[-1]["json"]["bio"] == "two"
    assert reader.quiet(0.5) == []
    response.close()


def test_the_page_stream_swaps_the_name_avatar_and_bio_wherever_shown(api_as, alice, bob, direct):
    person = api_as(alice).patch("/me", json={"display_name": "Alice <b>L</b>", "bio": ""}).json
    pairs = live.renderer_for(bob["id"])({"id": "e:1-0", "type": "user.updated", "data": person})
    assert [name for name, _ in pairs] == ["person"]
    html = pairs[0][1]
    assert f"innerHTML:[data-name-of='{alice['id']}']" in html and "Alice &lt;b&gt;L&lt;/b&gt;" in html
    assert f"innerHTML:[data-face-of='{alice['id']}']" in html and ">A&lt;<" in html
    assert f"outerHTML:[data-bio-of='{alice['id']}']" in html and " hidden" in html


def test_forged_profile_events_reach_nobody(relay, listen, alice, bob, dave, direct):  # noqa: F811
    take = listen(alice, bob, dave)
    write_rows(
        (None, "user.updated", {"user_id": OUTSIDER_ID}),                                # nobody
        (direct["id"], "user.updated", {"user_id": alice["id"]}),                        # tied to a conversation
        (None, "user.updated", {"user_id": alice["id"], "display_name": "Bob"}),         # words of its own
        (None, "user.updated", {"user_id": "not-a-uuid"}),
        (None, "user.updated", ["not", "an", "object"]),
    )
    write_rows((None, "user.updated", {"user_id": alice["id"]}))                         # genuine: goes out
    relay.publish_pending()
    assert [e.data["id"] for e in take(bob)] == [alice["id"]] and len(take(alice)) == 1
    assert take(dave) == [] and unpublished() == 0


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_only_the_server_writes_avatar_key(app, api_as, alice, bob):
    """RLS: a person may change their own name, bio and avatar address, never the store key of an avatar
    (it would let them show everyone any stored file); everyone signed in reads it, nobody signed out."""
    pg = Raw(app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))
    post_avatar(api_as(bob), picture())
    a = alice["id"]
    assert pg.refused(a, "update users set avatar_key = 'someone-elses-file.png' where id = %s", (a,))
    assert pg.refused(a, "update users set avatar_key = null where id = %s", (bob["id"],))
    assert pg.rowcount(a, "update users set bio = 'mine' where id = %s", (a,)) == 1
    assert pg.scalar(a, "select avatar_key from users where id = %s", (bob["id"],)).startswith("avatar-")
    with pg.as_role("anon") as cur, pytest.raises(psycopg.errors.InsufficientPrivilege):
        cur.execute("select avatar_key from users")


# --- the settings page ---------------------------------------------------------------------------------------

def test_the_settings_page_saves_name_bio_and_picture(web_as, api_as, alice, bob):
    web = web_as(alice)
    page = web.get("/settings/profile")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in text(page)
    assert 'name="display_name"' in text(page) and 'value="Alice"' in text(page)
    r = web.post("/settings/profile", {"display_name": "Alice L.", "bio": "Hello",
                                       "file": (io.BytesIO(picture()), "me.png")},
                 content_type="multipart/form-data")
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/profile?done=saved")
    me = api_as(alice).get("/me").json
    assert (me["display_name"], me["bio"]) == ("Alice L.", "Hello") and me["avatar_url"]
    page = text(web.get("/settings/profile?done=saved"))
    assert "Your profile is saved." in page and me["avatar_url"].replace("?", "?") in page
    assert "Remove picture" in page
    r = web.post("/settings/profile/avatar/remove")
    assert r.status_code == 303 and api_as(alice).get("/me").json["avatar_url"] is None
    assert "Remove picture" not in text(web.get("/settings/profile"))


@pytest.mark.parametrize("fields,field,message", [
    ({"display_name": "   ", "bio": "new bio"}, "display_name", "display name"),
    ({"display_name": "x" * 81, "bio": "new bio"}, "display_name", "the limit is 80"),
    ({"display_name": "New", "bio": "b" * 501}, "bio", "the limit is 500"),
    ({"display_name": "New", "bio": "new bio", "file": PDF}, "file", "An avatar must be a picture"),
    ({"display_name": "New", "bio": "new bio", "file": png_header(65535, 65535)}, "file",
     "the limit is 40 megapixels"),
])
def test_bad_input_on_the_page_names_the_field_and_changes_nothing(app, web_as, api_as, alice, fields, field,
                                                                   message):
    web = web_as(alice)
    web.get("/settings/profile")
    fields = dict(fields)
    # A good picture goes with a refused name or bio, and is not kept.
    fields["file"] = (io.BytesIO(fields.get("file", picture())), "me.png")
    r = web.post("/settings/profile", fields, content_type="multipart/form-data")
    assert r.status_code == 422
    html = text(r)
    error = re.search(rf'<p class="field__error" id="{field}-error">([^<]*)</p>', html)
    assert error and message in error.group(1), html
    me = api_as(alice).get("/me").json
    assert (me["display_name"], me["bio"], me["avatar_url"]) == ("Alice", "", None)
    assert stored_files(app) == []


def test_the_settings_page_needs_a_sign_in_and_the_csrf_token(client, web_as, alice):
    assert client.get("/settings/profile").status_code == 302
    web = web_as(alice)
    r = web.post("/settings/profile", {"display_name": "Mallory"}, csrf=False)
    assert r.status_code in (400, 422)
    assert accounts.get_me(alice["id"])["display_name"] == "Alice"


def test_avatars_fall_back_to_initials_under_the_picture(web_as, api_as, alice, bob, direct):
    post_avatar(api_as(alice), picture())
    html = text(web_as(bob).get(f"/u/{alice['username']}"))
    face = re.search(rf'<span class="avatar__face" data-face-of="{alice["id"]}">A<img src="([^"]+)"', html)
    assert face and face.group(1).startswith(f"/api/v1/users/{alice['id']}/avatar?v=")
    assert f'data-name-of="{alice["id"]}"' in html and f'data-bio-of="{alice["id"]}"' in html


@pytest.mark.redis
def test_through_redis_a_change_is_logged_once_for_each_person_and_replays_as_sent(backend, tmp_path,
                                                                                   own_redis):  # noqa: F811
    """The Redis delivery log (what a resuming stream reads) holds one ``user.updated`` per recipient, even for
    someone who shares two conversations, and the live copy is the same event."""
    app, drop = fresh_app(backend, tmp_path, own_redis.url, "profiles")
    broker = app.extensions["chat.broker"]
    try:
        with app.app_context():
            ann = accounts.sign_up("ann@example.com", "ann", "password123", "Ann")
            ben = accounts.sign_up("ben@example.com", "ben", "password123", "Ben")
            cal = accounts.sign_up("cal@example.com", "cal", "password123", "Cal")
            conversations.open_direct(ann["id"], ben["id"])
            conversations.create_group(ann["id"], "pair", [ben["id"]])
            sub = broker.subscribe(ben["id"])
            wait_connected(broker)
            epoch, start = broker.epoch(), broker.latest(ben["id"])
            accounts.update_profile(ann["id"], display_name="Ann Again")
            logged = [e for e in broker.read_log(ben["id"], epoch, start) if e.type == "user.updated"]
            assert len(logged) == 1 and logged[0].data["display_name"] == "Ann Again"
            found, deadline = [], time.monotonic() + 5
            while not found:
                assert time.monotonic() < deadline, "the live event never arrived"
                item = sub.get(0.1)
                if getattr(item, "type", None) == "user.updated":
                    found.append(item)
            assert found[0].id == logged[0].id
            assert [e for e in broker.read_log(cal["id"], epoch, "0-0") if e.type == "user.updated"] == []
    finally:
        broker.stop()
        app.extensions["chat.db"].dispose()
        if drop:
            drop()
