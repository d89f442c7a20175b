"""Parsing requests and requiring a signed-in user, for the API routes.

``json_body`` parses strictly: NaN/Infinity literals, invalid UTF-8 and nesting too deep for the parser are a
400 ``malformed_json``; a value that parses but cannot be stored (NUL, lone surrogates, non-finite or 64-bit
overflowing numbers) is a 422 naming its top-level field.
"""
import json
from functools import wraps

from flask import request
from flask_login import current_user

from ..actions import validate
from ..errors import BadRequest, Unauthorized


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def json_body():
    """The request's JSON object; 400 when the body is not a JSON object, 422 naming a field it cannot keep."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadRequest("The request body is not valid JSON.", code="malformed_json") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.", code="malformed_json")
    for key, value in data.items():
        field = ascii(key)[1:-1] if validate.has_bad_chars(key) else key  # an unstorable key is named escaped
        validate.clean_str(key, field)
        validate.json_value(value, field)
    return data


def signed_in(view):
    """401 unless a session or bearer token identifies the caller."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            raise Unauthorized("Sign in first: send a session cookie or an Authorization: Bearer token.")
        return view(*args, **kwargs)
    return wrapper


def me():
    return current_user.id
