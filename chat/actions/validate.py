"""Input checks shared by actions; each failure names its field.

Every string that reaches the database passes ``clean_str`` (directly or through ``text``): Postgres text
cannot hold NUL and UTF-8 cannot encode a lone surrogate, so both are refused here as a 422 naming the field
rather than failing later as a 500. Integers are bounded to a signed 64-bit column (``MAX_INT``), and JSON
values (``json_value``) must be finite, shallow enough and free of NUL, so that whatever is stored can be
served back as strict JSON.

Refusals are sentences a person can read (capitalised, no field names or HTTP words): the field itself is
named by the error's ``field`` member, and ``label`` gives the words a sentence uses for it.
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

# How a sentence names a field; any other field is named by its words ("group_id" -> "group id").
LABELS = {
    "body": "message", "name": "group name", "display_name": "display name", "bio": "bio",
    "client_id": "message id", "q": "search", "avatar_url": "picture address", "email": "email address",
    "login": "email or username", "seq": "read position", "before": "position", "after": "position",
    "limit": "page size", "metadata": "message data", "user_id": "person", "member_ids": "member list",
    "attachment_ids": "attachment list", "kind": "message kind",
}
# What to say when a required text is blank.
BLANK = {"body": "Write a message first.", "name": "Give the group a name.",
         "display_name": "Enter a display name.", "email": "Enter your email address.",
         "username": "Choose a username.", "login": "Enter your email or username."}


def label(field):
    """The words a sentence uses for ``field``."""
    return LABELS.get(field, str(field).replace("_", " "))


def sentence(text_):
    """``text_`` with its first letter capitalised."""
    return text_[:1].upper() + text_[1:]


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
        raise Invalid(f"The {label(field)} contains characters that can't be stored.", field=field)
    return value


def text(value, field, *, max_len, min_len=1, strip=True):
    """A string of ``min_len``..``max_len`` characters (after trimming when ``strip``)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"The {label(field)} must be text.", field=field)
    clean_str(value, field)
    if strip:
        value = value.strip()
    if len(value) < min_len:
        raise Invalid(BLANK.get(field, f"The {label(field)} can't be blank.") if min_len == 1 else
                      f"The {label(field)} must be at least {min_len:,} characters.", field=field)
    if len(value) > max_len:
        raise Invalid(f"This {label(field)} is {len(value):,} characters; the limit is {max_len:,}.", field=field)
    return value


def body(value, field="body"):
    return text(value, field, max_len=MAX_BODY)


def username(value, field="username"):
    value = text(value, field, max_len=32).lower()
    if not USERNAME_RE.match(value):
        raise Invalid("A username is 3–32 characters: lowercase letters, digits and _.", field=field)
    return value


def email(value, field="email"):
    value = text(value, field, max_len=254).lower()
    if not EMAIL_RE.match(value):
        raise Invalid("Enter an email address like name@example.com.", field=field)
    return value


def password(value, field="password"):
    if not isinstance(value, str):
        raise Invalid("The password must be text.", field=field)
    clean_str(value, field)
    if len(value) < 8:
        raise Invalid("Passwords need at least 8 characters.", field=field)
    if len(value) > 1024:
        raise Invalid("Passwords can have at most 1,024 characters.", field=field)
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
        raise Invalid(f"That is not a valid id for the {label(field)}.", field=field) from None


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
        raise Invalid(f"The {label(field)} is nested too deeply.", field=field)
    if isinstance(value, str):
        clean_str(value, field)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise Invalid(f"The {label(field)} holds a number that is too large.", field=field)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid(f"The {label(field)} must hold finite numbers only.", field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise Invalid(f"The {label(field)} must have text keys.", field=field)
            clean_str(key, field)
            json_value(item, field, depth=depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            json_value(item, field, depth=depth + 1)
    else:
        raise Invalid(f"The {label(field)} must be JSON.", field=field)
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
        raise Invalid(f"{sentence(label(field))} is required.", field=field)
    if isinstance(value, bool):
        raise Invalid(f"The {label(field)} must be a whole number.", field=field)
    try:
        number = int(value)
    except (ValueError, TypeError, OverflowError):  # OverflowError: an infinite float
        raise Invalid(f"The {label(field)} must be a whole number.", field=field) from None
    if isinstance(value, float) and value != number:
        raise Invalid(f"The {label(field)} must be a whole number.", field=field)
    if minimum is not None and number < minimum:
        raise Invalid(f"The {label(field)} must be at least {minimum:,}.", field=field)
    if number > maximum:
        raise Invalid(f"The {label(field)} must be at most {maximum:,}.", field=field)
    return number


def new_id():
    return str(uuid.uuid4())
