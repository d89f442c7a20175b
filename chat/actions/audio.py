"""How long a sound file plays, measured from its bytes on the server (never taken from the client).

``duration_ms(data, content_type)`` reads Ogg/Opus, MP3, WAV, MP4/M4A with mutagen and WebM (what Chromium's
MediaRecorder writes, which mutagen does not read) with a small Matroska walker: the largest block timestamp
(Chromium's recordings carry no Duration element). An unreadable file, or one longer than ``MAX_DURATION_MS``
(5 minutes), raises ``Invalid`` naming ``file``.
"""
import io
import struct

import mutagen

from ..errors import Invalid

MAX_DURATION_MS = 5 * 60 * 1000

# Matroska elements we read; the masters among them are walked into rather than skipped, which also copes
# with the "unknown size" live recorders give the Segment and its Clusters.
SEGMENT, CLUSTER, BLOCK_GROUP, INFO = 0x18538067, 0x1F43B675, 0xA0, 0x1549A966
TIMECODE, SIMPLE_BLOCK, BLOCK, TIMECODE_SCALE, DURATION = 0xE7, 0xA3, 0xA1, 0x2AD7B1, 0x4489
MASTERS = {SEGMENT, CLUSTER, BLOCK_GROUP, INFO}


def duration_ms(data: bytes, content_type: str) -> int:
    try:
        if content_type == "audio/webm":
            ms = _webm_duration_ms(data)
        else:
            info = getattr(mutagen.File(io.BytesIO(data)), "info", None)
            ms = round(info.length * 1000) if info is not None and info.length is not None else None
    except (mutagen.MutagenError, ValueError, IndexError, struct.error, EOFError):
        ms = None
    if ms is None or ms < 0:  # a readable file of no length (a silent, empty recording) is 0 ms
        raise Invalid("This sound file can't be read.", field="file")
    if ms > MAX_DURATION_MS:
        minutes, seconds = divmod(round(ms / 1000), 60)
        raise Invalid(f"This recording is {minutes}:{seconds:02d} long; the limit is 5 minutes.", field="file")
    return ms


def _vint(data, pos, keep_marker):
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError("bad EBML number")
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[pos + 1:pos + length]:
        value = (value << 8) | byte
    if pos + length > len(data):
        raise ValueError("truncated EBML number")
    unknown = not keep_marker and value == (1 << (7 * length)) - 1
    return value, pos + length, unknown


def _webm_duration_ms(data):
    if not data.startswith(b"\x1a\x45\xdf\xa3"):
        raise ValueError("not EBML")
    pos, scale, declared, cluster_time, latest = 0, 1_000_000, None, 0, None
    while pos < len(data):
        element, pos, _ = _vint(data, pos, keep_marker=True)
        size, pos, unknown = _vint(data, pos, keep_marker=False)
        if element in MASTERS:
            continue  # read its children in place
        if unknown or pos + size > len(data):
            break  # a recording cut short: keep what was read
        body = data[pos:pos + size]
        if element == TIMECODE_SCALE:
            scale = int.from_bytes(body, "big")
        elif element == DURATION:
            declared = struct.unpack(">f" if size == 4 else ">d", body)[0]
        elif element == TIMECODE:
            cluster_time = int.from_bytes(body, "big")
        elif element in (SIMPLE_BLOCK, BLOCK):
            _track, at, _ = _vint(body, 0, keep_marker=False)
            block_time = cluster_time + struct.unpack(">h", body[at:at + 2])[0]
            latest = block_time if latest is None else max(latest, block_time)
        pos += size
    if declared:
        return round(declared * scale / 1_000_000)
    if latest is None:
        return None
    return round(latest * scale / 1_000_000) + 20  # the last Opus frame plays for 20 ms after its timestamp
