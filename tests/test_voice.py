"""Voice messages: ``duration_ms`` measured on the server from the file (WAV through mutagen, WebM as
Chromium's MediaRecorder writes it through our Matroska walker), at most 5 minutes."""
import io
import struct
import wave

import pytest

from .test_attachments import upload


def wav_bytes(seconds, rate=8000):
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(b"\x80" * int(seconds * rate))
    return out.getvalue()


def _element(element_id, body, unknown_size=False):
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else b"\x01" + struct.pack(">Q", len(body))[1:]
    return element_id + size + body


def webm_recording(seconds):
    """A WebM like a live MediaRecorder's: Segment and Clusters of unknown size, no Duration, 20 ms Opus
    blocks (the payload is filler: only the timing is read)."""
    header = _element(b"\x1a\x45\xdf\xa3", b"\x42\x82\x84webm")  # DocType, with a one-byte size
    info = _element(b"\x15\x49\xa9\x66", _element(b"\x2a\xd7\xb1", (1_000_000).to_bytes(3, "big")))
    clusters = b""
    frames = int(seconds * 50)
    for start in range(0, frames, 250):  # a cluster every 5 s
        blocks = b"".join(_element(b"\xa3", b"\x81" + struct.pack(">h", (i - start) * 20) + b"\x80" + b"\xfc" * 3)
                          for i in range(start, min(start + 250, frames)))
        clusters += _element(b"\x1f\x43\xb6\x75", _element(b"\xe7", (start * 20).to_bytes(4, "big")) + blocks,
                             unknown_size=True)
    return header + _element(b"\x18\x53\x80\x67", info + clusters, unknown_size=True)


def test_a_wav_files_duration_is_measured(api_as, alice):
    att = upload(api_as(alice), wav_bytes(2.5), "note.wav").json
    assert att["content_type"].startswith("audio/") and att["duration_ms"] == 2500


def test_a_recorded_webm_voice_message_has_its_duration(api_as, alice, bob, direct):
    a = api_as(alice)
    att = upload(a, webm_recording(7.3), "voice.webm").json
    assert att["content_type"] == "audio/webm" and att["duration_ms"] == 7300
    m = a.post(f"/conversations/{direct['id']}/messages", json={"body": "", "kind": "audio",
                                                               "attachment_ids": [att["id"]]}).json
    assert m["attachments"][0]["duration_ms"] == 7300


@pytest.mark.parametrize("data,name,message", [
    (wav_bytes(301), "long.wav", "This recording is 5:01 long; the limit is 5 minutes."),
    (webm_recording(302), "long.webm", "This recording is 5:02 long; the limit is 5 minutes."),
    (b"\x1a\x45\xdf\xa3\x84\x42\x82\x84webm" + b"\x00" * 30, "broken.webm", "This sound file can't be read."),
])
def test_long_or_unreadable_recordings_are_refused(app, api_as, alice, data, name, message):
    r = upload(api_as(alice), data, name)
    assert r.status_code == 422 and r.json["error"] == {**r.json["error"], "field": "file", "message": message}
    with app.extensions["chat.db"].engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from attachments").scalar() == 0
