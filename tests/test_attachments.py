"""Uploads: type from the bytes, size limit, members-only download with safe headers."""
import io

from PIL import Image

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
    r = upload(api_as(alice), PDF, "notes.txt")
    assert r.status_code == 201 and r.json["content_type"] == "application/pdf"


def test_pdf_downloads_as_attachment(api_as, alice, bob, direct):
    att = upload(api_as(alice), PDF, 'bad"name\r\n.pdf').json
    assert '"' not in att["filename"] and "\n" not in att["filename"]
    api_as(alice).post(f"/conversations/{direct['id']}/messages", json={"body": "", "attachment_ids": [att["id"]]})
    got = api_as(bob).get(att["url"][len("/api/v1"):])
    assert got.headers["Content-Disposition"].startswith("attachment")


def test_size_limit_is_413(app, api_as, alice):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    r = upload(api_as(alice), PDF + b"0" * 2000, "big.pdf")
    assert r.status_code == 413 and r.json["error"]["field"] == "file"


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
