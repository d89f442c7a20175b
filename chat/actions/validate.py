"""Input checks shared by actions; each failure names its field."""
import re
import uuid

from ..errors import Invalid, NotFound

MAX_BODY = 4000
MESSAGE_KINDS = ("text", "image", "file", "audio", "system")
USERNAME_RE = re.compile(r"^[a-z0-9_]{3,32}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def text(value, field, *, max_len, min_len=1, strip=True):
    """A string of ``min_len``..``max_len`` characters (after trimming when ``strip``)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string.", field=field)
    if strip:
        value = value.strip()
    if len(value) < min_len:
        raise Invalid(f"{field} must not be blank." if min_len == 1 else
                      f"{field} must be at least {min_len} characters.", field=field)
    if len(value) > max_len:
        raise Invalid(f"{field} must be at most {max_len} characters (got {len(value)}).", field=field)
    if "\x00" in value:
        raise Invalid(f"{field} must not contain NUL characters.", field=field)
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


def path_id(value, what="conversation"):
    """A UUID from a URL path; a malformed one is simply unknown (404)."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise NotFound(f"No such {what}.") from None


def integer(value, field, *, minimum=None, maximum=None, default=None):
    if value is None or value == "":
        if default is not None:
            return default
        raise Invalid(f"{field} is required.", field=field)
    if isinstance(value, bool):
        raise Invalid(f"{field} must be a whole number.", field=field)
    try:
        number = int(value)
    except (ValueError, TypeError):
        raise Invalid(f"{field} must be a whole number.", field=field) from None
    if isinstance(value, float) and value != number:
        raise Invalid(f"{field} must be a whole number.", field=field)
    if minimum is not None and number < minimum:
        raise Invalid(f"{field} must be at least {minimum}.", field=field)
    if maximum is not None and number > maximum:
        raise Invalid(f"{field} must be at most {maximum}.", field=field)
    return number


def new_id():
    return str(uuid.uuid4())
