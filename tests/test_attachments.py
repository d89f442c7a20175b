"""Uploads: type from the bytes, size and pixel limits, members-only download with safe headers."""
import io
import struct
import zlib

import pytest
from PIL import Image

from .web_support import text, web_as_fixture  # noqa: F401  (fixture)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes(width=3, height=2):
    out = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(out, "PNG")
    return out.getvalue()


def upload(api, data, filename):
    return api.post("/attachments", data={"file": (io.BytesIO(data), filename)},
                    content_type="multipart/form-data", json=None)


def test_upload_attach_and_download(api_as, alice, bob, dave, direct):
    a = api_as(alice)
    r = upload(a, png_bytes(), "holiday.png")
    assert r.status_code == 201, r.json
    att = r.json
    assert att["content_type"] == "image/png" and (att["width"], att["height"]) == (3, 2)
    assert att["filename"] == "holiday.png" and att["size"] > 0
    m = a.post(f"/conversations/{direct['id']}/messages", json={"body": "look", "kind": "image",
                                                               "attachment_ids": [att["id"]]}).json
    assert [x["id"] for x in m["attachments"]] == [att["id"]]
    got = api_as(bob).get(att["url"][len("/api/v1"):])
    assert got.status_code == 200 and got.data == png_bytes()
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got.headers["Content-Security-Policy"]
    assert got.headers["Content-Disposition"].startswith("inline")
    assert api_as(dave).get(att["url"][len("/api/v1"):]).status_code == 404  # not a member


def test_type_comes_from_the_bytes_not_the_name(api_as, alice):
    r = upload(api_as(alice), b"<html><script>alert(1)</script></html>", "cute.png")
    assert r.status_code == 422 and r.json["error"]["field"] == "file"
    assert r.json["error"]["message"] == ("This kind of file can't be sent. Pictures (PNG, JPEG, GIF, WebP), "
                                          "audio, PDF and ZIP files can.")
    r = upload(api_as(alice), PDF, "notes.txt")
    assert r.status_code == 201 and r.json["content_type"] == "application/pdf"


def test_pdf_downloads_as_attachment(api_as, alice, bob, direct):
    att = upload(api_as(alice), PDF, 'bad"name.pdf').json  # control characters are refused (test_pictures)
    assert '"' not in att["filename"]
    api_as(alice).post(f"/conversations/{direct['id']}/messages", json={"body": "", "attachment_ids": [att["id"]]})
    got = api_as(bob).get(att["url"][len("/api/v1"):])
    assert got.headers["Content-Disposition"].startswith("attachment")


def test_size_limit_is_413(app, api_as, alice):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    r = upload(api_as(alice), PDF + b"0" * 2000, "big.pdf")
    assert r.status_code == 413 and r.json["error"]["field"] == "file"
    assert r.json["error"]["message"] == "This file is 2 KB; the limit is 1 KB."


def test_size_limit_says_the_size_and_the_limit(app, api_as, alice):
    app.config["MAX_UPLOAD_BYTES"] = 2 * 1024 * 1024
    r = upload(api_as(alice), PDF + b"0" * int(2.3 * 1024 * 1024), "big.pdf")
    assert r.status_code == 413
    assert r.json["error"] == {"code": "too_large", "field": "file",
                               "message": "This file is 2.3 MB; the limit is 2 MB."}


def test_over_the_request_limit_is_the_same_sentence_on_the_api_and_the_composer(app, api_as, web_as, alice,
                                                                                  direct):
    # Werkzeug refuses a request over MAX_CONTENT_LENGTH before any view reads it.
    app.config["MAX_UPLOAD_BYTES"] = 1024 * 1024
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024 + 64 * 1024
    big = PDF + b"0" * int(1.5 * 1024 * 1024)
    r = upload(api_as(alice), big, "big.pdf")
    assert r.status_code == 413
    assert r.json["error"]["field"] == "file" and r.json["error"]["code"] == "too_large"
    assert r.json["error"]["message"].startswith("This file is 1.5 MB; the limit is 1 MB.")
    me = web_as(alice)
    r = me.post(f"/c/{direct['id']}/messages", {"body": "x", "file": (io.BytesIO(big), "big.pdf")},
                content_type="multipart/form-data", htmx=True)
    assert r.status_code == 413 and "This file is 1.5 MB; the limit is 1 MB." in text(r)
    assert "Request Entity Too Large" not in text(r) and "<html" not in text(r)
    r = api_as(alice).post(f"/conversations/{direct['id']}/messages", json={"body": "x" * (1200 * 1024)})
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large" and "the limit is 1 MB" in \
        r.json["error"]["message"]


def test_missing_or_empty_file(api_as, alice):
    r = api_as(alice).post("/attachments", data={}, content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["error"]["field"] == "file"
    r = upload(api_as(alice), b"", "empty.pdf")
    assert r.status_code == 422


def test_cannot_attach_someone_elses_upload(api_as, alice, bob, direct):
    att = upload(api_as(alice), PDF, "a.pdf").json
    r = api_as(bob).post(f"/conversations/{direct['id']}/messages", json={"body": "x", "attachment_ids": [att["id"]]})
    assert r.status_code == 422 and r.json["error"]["field"] == "attachment_ids"
    assert api_as(bob).get(att["url"][len("/api/v1"):]).status_code == 404  # not attached yet: uploader only


def test_deleted_message_hides_its_attachment(api_as, alice, bob, direct):
    att = upload(api_as(alice), PDF, "a.pdf").json
    m = api_as(alice).post(f"/conversations/{direct['id']}/messages",
                           json={"body": "x", "attachment_ids": [att["id"]]}).json
    api_as(alice).delete(f"/messages/{m['id']}")
    assert api_as(bob).get(att["url"][len("/api/v1"):]).status_code == 404


def test_upload_needs_sign_in(api_as):
    assert upload(api_as(None), PDF, "a.pdf").status_code == 401


# --- decompression bombs -------------------------------------------------------------------------------

def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width, height):
    """A 65-byte PNG that declares ``width`` × ``height`` pixels and holds none."""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b""))


def gif_header(width, height):
    """A 29-byte GIF that declares ``width`` × ``height`` pixels."""
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b","
            + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00;")


@pytest.fixture(scope="module")
def png_12000():
    """A real 12000 × 12000 PNG (144 megapixels, about 17 KB compressed)."""
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("make,name", [
    (lambda _: png_header(65535, 65535), "bomb.png"), (lambda _: gif_header(65535, 65535), "bomb.gif"),
    (lambda _: png_header(7000, 7000), "49mp.png"), (lambda big: big, "dim_bomb_12000.png"),
])
def test_pictures_over_40_megapixels_are_refused(app, api_as, web_as, alice, direct, png_12000, make, name):
    data = make(png_12000)
    r = upload(api_as(alice), data, name)
    assert r.status_code == 422, r.json
    assert r.json["error"]["field"] == "file" and "the limit is 40 megapixels" in r.json["error"]["message"]
    r = web_as(alice).post(f"/c/{direct['id']}/messages", {"body": "", "file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data", htmx=True)
    assert r.status_code == 422 and "the limit is 40 megapixels" in text(r)
    with app.extensions["chat.db"].engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from attachments").scalar() == 0
        assert conn.exec_driver_sql("select count(*) from messages").scalar() == 0


def test_a_picture_at_the_pixel_limit_is_accepted(api_as, alice):
    # A real picture: pictures are decoded and stored re-encoded, so a header without pixels can't be read.
    out = io.BytesIO()
    Image.new("1", (8000, 5000)).save(out, "PNG")
    r = upload(api_as(alice), out.getvalue(), "40mp.png")
    assert r.status_code == 201 and (r.json["width"], r.json["height"]) == (8000, 5000)
