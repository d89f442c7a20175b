"""Pictures as stored: no EXIF/GPS, orientation applied, WebP thumbnails, animations kept; bad input is a
422 naming ``file`` with nothing stored."""
import io

import pytest
from PIL import Image

from .test_attachments import PDF, png_bytes, upload

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(width=40, height=20, orientation=6):
    """A JPEG with a GPS position, a camera comment and an orientation (6: rotate 90° clockwise to show)."""
    image = Image.new("RGB", (width, height), "blue")
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "SpyCam"  # Make
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return out.getvalue()


def animated_gif(frames=3):
    images = [Image.new("RGB", (10, 10), color) for color in ("red", "green", "blue", "white")[:frames]]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=120, loop=0)
    return out.getvalue()


def stored_count(app):
    with app.extensions["chat.db"].engine.connect() as conn:
        return conn.exec_driver_sql("select count(*) from attachments").scalar()


def stored_files(app):
    import os
    root = app.config["UPLOAD_FOLDER"]
    return [f for _, _, files in os.walk(root) for f in files] if os.path.isdir(root) else []


def test_exif_and_gps_are_stripped_after_applying_the_orientation(app, api_as, alice, bob, direct):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test's input does carry GPS
    a = api_as(alice)
    att = upload(a, original, "photo.jpg").json
    assert (att["width"], att["height"]) == (20, 40)  # shown upright: the rotation is in the pixels now
    a.post(f"/conversations/{direct['id']}/messages", json={"body": "", "attachment_ids": [att["id"]]})
    got = api_as(bob).get(att["url"][len("/api/v1"):])
    assert got.status_code == 200
    stored = Image.open(io.BytesIO(got.data))
    assert stored.size == (20, 40) and stored.format == "JPEG"
    assert not stored.getexif() and "exif" not in stored.info and "comment" not in stored.info
    assert b"SpyCam" not in got.data and b"secret comment" not in got.data
    assert att["size"] == len(got.data)


def test_a_thumbnail_is_a_small_webp_for_members_only(api_as, alice, bob, dave, direct):
    a = api_as(alice)
    att = upload(a, png_bytes(1600, 800), "wide.png").json
    assert att["thumbnail_url"] == f"/api/v1/attachments/{att['id']}/thumbnail"
    assert (att["width"], att["height"]) == (1600, 800)
    a.post(f"/conversations/{direct['id']}/messages", json={"body": "", "attachment_ids": [att["id"]]})
    got = api_as(bob).get(att["thumbnail_url"][len("/api/v1"):])
    assert got.status_code == 200 and got.mimetype == "image/webp"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    thumb = Image.open(io.BytesIO(got.data))
    assert thumb.format == "WEBP" and thumb.size == (480, 240)
    assert api_as(dave).get(att["thumbnail_url"][len("/api/v1"):]).status_code == 404
    pdf = upload(a, PDF, "doc.pdf").json
    assert pdf["thumbnail_url"] is None
    assert a.get(f"/attachments/{pdf['id']}/thumbnail").status_code == 404


def test_animated_gifs_stay_animated(api_as, alice):
    a = api_as(alice)
    att = upload(a, animated_gif(), "dance.gif").json
    assert att["content_type"] == "image/gif" and att["thumbnail_url"] is None  # shown as it is
    got = Image.open(io.BytesIO(a.get(att["url"][len("/api/v1"):]).data))
    assert got.n_frames == 3 and got.info.get("duration") == 120


def _polyglot():
    """A real GIF that is also a page: markup after the image's end."""
    return animated_gif(1) + b"<script>alert(document.cookie)</script>"


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize("data,name,mimetype,message", [
    (SVG, "cat.svg", "image/svg+xml", "This kind of file can't be sent."),
    (b"<!doctype html><html><script>x()</script>", "cat.png", "image/png", "This kind of file can't be sent."),
    (_polyglot(), "cat.gif", "image/gif", "web page or script code hidden inside it"),
    (b"", "empty.png", "image/png", "This file is empty."),
    (PDF, "fake.png", "image/png", "sent as a picture (image/png) but holds application/pdf"),
    (png_bytes(), "../../etc/passwd.png", "image/png", "contains \"..\" as a folder"),
    (png_bytes(), "..\\evil.png", "image/png", "contains \"..\" as a folder"),
    (png_bytes(), "bell\x07.png", "image/png", "control characters"),
    (png_bytes(), "gpj\u202e.exe", "image/png", "control characters"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png", "image/png", "This picture can't be read."),
])
def test_bad_input_is_a_422_naming_the_problem_and_nothing_is_stored(app, api_as, alice, data, name, mimetype,
                                                                      message):
    r = api_as(alice).post("/attachments", data={"file": (io.BytesIO(data), name, mimetype)},
                           content_type="multipart/form-data", json=None)
    assert r.status_code == 422, r.json
    assert r.json["error"]["field"] == "file" and message in r.json["error"]["message"]
    assert stored_count(app) == 0 and stored_files(app) == []


def test_a_file_name_with_a_folder_keeps_only_its_name(api_as, alice):
    att = upload(api_as(alice), png_bytes(), "photos/2026/cat.png").json
    assert att["filename"] == "cat.png"
