"""Input checks shared by actions; each failure names its field.

Every string that reaches the database passes ``clean_str`` (directly or through ``text``): Postgres text
cannot hold NUL and UTF-8 cannot encode a lone surrogate, so both are refused here as a 422 naming the field
rather than failing later as a 500. Integers are bounded to a signed 64-bit column (``MAX_INT``), and JSON
values (``json_value``) must be finite, shallow enough and free of NUL, so that whatever is stored can be
served back as strict JSON.
"""
import math
import re
import uuid

from ..errors import Invalid, NotFound

MAX_BODY = 4000
MAX_INT = 2**63 - 1  # the largest value a bigint column (seq, cursors) can hold
MAX_JSON_DEPTH = 32
MESSAGE_KINDS = ("text", "image", "file", "audio", "system")
USERNAME_RE = re.compile(r"^[a-z0-9_]{3,32}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def has_bad_chars(value):
    """True when a string holds NUL or a lone surrogate (neither can be stored or sent as UTF-8)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_str(value, field):
    """``value`` unchanged when it is not a string or is a storable one; else a 422 naming ``field``."""
    if isinstance(value, str) and has_bad_chars(value):
        raise Invalid(f"{field} contains characters that cannot be stored.", field=field)
    return value


def text(value, field, *, max_len, min_len=1, strip=True):
    """A string of ``min_len``..``max_len`` characters (after trimming when ``strip``)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string.", field=field)
    clean_str(value, field)
    if strip:
        value = value.strip()
    if len(value) < min_len:
        raise Invalid(f"{field} must not be blank." if min_len == 1 else
                      f"{field} must be at least {min_len} characters.", field=field)
    if len(value) > max_len:
        raise Invalid(f"{field} must be at most {max_len} characters (got {len(value)}).", field=field)
    return value


def body(value, field="body"):
    return text(value, field, max_len=MAX_BODY)


def username(value, field="username"):
    value = text(value, field, max_len=32).lower()
    if not USERNAME_RE.match(value):
        raise Invalid("username must be 3–32 characters: lowercase letters, digits and _.", field=field)
    return value


def email(value, field="email"):
    value = text(value, field, max_len=254).lower()
    if not EMAIL_RE.match(value):
        raise Invalid("email must be an address like name@example.com.", field=field)
    return value


def password(value, field="password"):
    if not isinstance(value, str):
        raise Invalid("password must be a string.", field=field)
    clean_str(value, field)
    if len(value) < 8:
        raise Invalid("password must be at least 8 characters.", field=field)
    if len(value) > 1024:
        raise Invalid("password must be at most 1024 characters.", field=field)
    return value


def optional_text(value, field, max_len):
    if value is None:
        return None
    value = text(value, field, max_len=max_len, min_len=0)
    return value or None


def uuid_field(value, field):
    """A UUID given in a request body; malformed is a 422 naming the field."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise Invalid(f"{field} must be a user or object id.", field=field) from None


def path_key(value, what="user"):
    """A string key from a URL path (a username, say); one that cannot be stored names nothing (404)."""
    value = str(value or "")
    if has_bad_chars(value):
        raise NotFound(f"No such {what}.")
    return value


def json_value(value, field, *, depth=0):
    """A JSON value that can be stored and served back as strict JSON; else a 422 naming ``field``.

    Refuses NaN and the infinities, integers beyond 64 bits, NUL and lone surrogates in strings and
    keys, and nesting deeper than ``MAX_JSON_DEPTH``.
    """
    if depth > MAX_JSON_DEPTH:
        raise Invalid(f"{field} is nested too deeply.", field=field)
    if isinstance(value, str):
        clean_str(value, field)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise Invalid(f"{field} holds a number that is too large.", field=field)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid(f"{field} must hold finite numbers only.", field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise Invalid(f"{field} must have string keys.", field=field)
            clean_str(key, field)
            json_value(item, field, depth=depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            json_value(item, field, depth=depth + 1)
    else:
        raise Invalid(f"{field} must be JSON.", field=field)
    return value


def path_id(value, what="conversation"):
    """A UUID from a URL path; a malformed one is simply unknown (404)."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise NotFound(f"No such {what}.") from None


def integer(value, field, *, minimum=None, maximum=MAX_INT, default=None):
    """A whole number within ``minimum``..``maximum`` (at most ``MAX_INT``); else a 422 naming ``field``."""
    maximum = MAX_INT if maximum is None else min(maximum, MAX_INT)
    if value is None or value == "":
        if default is not None:
            return default
        raise Invalid(f"{field} is required.", field=field)
    if isinstance(value, bool):
        raise Invalid(f"{field} must be a whole number.", field=field)
    try:
        number = int(value)
    except (ValueError, TypeError, OverflowError):  # OverflowError: an infinite float
        raise Invalid(f"{field} must be a whole number.", field=field) from None
    if isinstance(value, float) and value != number:
        raise Invalid(f"{field} must be a whole number.", field=field)
    if minimum is not None and number < minimum:
        raise Invalid(f"{field} must be at least {minimum}.", field=field)
    if number > maximum:
        raise Invalid(f"{field} must be at most {maximum}.", field=field)
    return number


def new_id():
    return str(uuid.uuid4())
