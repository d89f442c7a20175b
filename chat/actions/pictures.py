"""Pictures as they are stored and shown: metadata stripped, orientation applied, a WebP thumbnail.

``clean(data, content_type)`` returns a ``Picture``: the bytes to store (re-encoded from the decoded pixels,
so EXIF with its GPS position, XMP, comments and anything appended after the image — the rest of a
polyglot — are gone), the size as shown (after the EXIF orientation is applied), and a WebP thumbnail at
most ``THUMBNAIL_BOX`` pixels on a side (None for animated pictures, which the timeline shows as they are so
that they stay animated). A picture Pillow cannot decode, or bigger than ``MAX_IMAGE_PIXELS`` (a
"decompression bomb"), or with too many frames, raises ``Invalid`` naming ``file``.
"""
import io
from typing import NamedTuple

from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import Invalid

MAX_IMAGE_PIXELS = 40_000_000
MAX_FRAMES = 500          # an animation decodes frame by frame: bound the work as well as the memory
THUMBNAIL_BOX = 480       # twice the timeline's largest preview, for sharp pictures on dense screens
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}


class Picture(NamedTuple):
    data: bytes
    width: int
    height: int
    thumbnail: bytes | None


def clean(data: bytes, content_type: str) -> Picture:
    limit = f"the limit is {MAX_IMAGE_PIXELS // 1_000_000} megapixels"
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise Invalid(f"This picture is {width:,} × {height:,} pixels; {limit}.", field="file")
            frames = getattr(image, "n_frames", 1)
            if frames > MAX_FRAMES:
                raise Invalid(f"This animation has {frames:,} frames; the limit is {MAX_FRAMES}.", field="file")
            if frames > 1:
                return Picture(_reencode_animation(image, content_type), width, height, None)
            image.load()
            upright = ImageOps.exif_transpose(image)
            return Picture(_reencode(upright, content_type), upright.width, upright.height, _thumbnail(upright))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid(f"This picture has too many pixels; {limit}.", field="file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise Invalid("This picture can't be read.", field="file") from None


AVATAR_SIZE = 256  # pixels on a side: sharp at the largest avatar shown (96 CSS pixels) on dense screens


def square(data: bytes, size: int = AVATAR_SIZE) -> bytes:
    """An avatar: the centre square of the picture (upright, first frame), ``size`` pixels on a side, as a
    WebP re-encoded from the pixels alone (no EXIF, XMP or comments). Refused as ``clean`` refuses."""
    limit = f"the limit is {MAX_IMAGE_PIXELS // 1_000_000} megapixels"
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise Invalid(f"This picture is {width:,} × {height:,} pixels; {limit}.", field="file")
            image.load()
            upright = ImageOps.exif_transpose(image)
            if upright.mode not in ("RGB", "RGBA"):
                upright = upright.convert("RGBA" if "transparency" in upright.info or upright.mode in ("LA", "PA")
                                          else "RGB")
            cropped = ImageOps.fit(upright, (size, size), Image.Resampling.LANCZOS)
            cropped.info = {}
            out = io.BytesIO()
            cropped.save(out, "WEBP", quality=85, method=4, exif=b"", xmp=b"")
            return out.getvalue()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid(f"This picture has too many pixels; {limit}.", field="file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise Invalid("This picture can't be read.", field="file") from None


def _reencode(image, content_type):
    """The pixels alone in the same format; only the colour profile is kept (it is how the colours look)."""
    fmt = FORMATS[content_type]
    options = {}
    if image.info.get("icc_profile"):
        options["icc_profile"] = image.info["icc_profile"]
    if fmt == "GIF" and image.info.get("transparency") is not None:
        options["transparency"] = image.info["transparency"]
    # Pillow's writers copy comments, EXIF and XMP from ``info``: start from none at all.
    image = image.copy()
    image.info = {}
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        options.update(quality=90, optimize=True)
    elif fmt == "WEBP":
        options.update(quality=90, exif=b"", xmp=b"")
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _reencode_animation(image, content_type):
    """Every frame with its timing and looping; metadata and comments are not carried over."""
    fmt = FORMATS[content_type]
    options = {"save_all": True, "duration": image.info.get("duration", 100), "loop": image.info.get("loop", 0)}
    # The first frame's ``info`` is what the writer reads comments and metadata from.
    for name in ("comment", "exif", "xmp", "XML:com.adobe.xmp", "extension"):
        image.info.pop(name, None)
    if fmt == "GIF":
        options["disposal"] = image.disposal_method if hasattr(image, "disposal_method") else 2
    elif fmt == "WEBP":
        options.update(exif=b"", xmp=b"")
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _thumbnail(image):
    small = image.copy()
    if small.mode not in ("RGB", "RGBA"):
        small = small.convert("RGBA" if "transparency" in small.info or small.mode in ("LA", "PA") else "RGB")
    small.thumbnail((THUMBNAIL_BOX, THUMBNAIL_BOX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()
