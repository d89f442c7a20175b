"""Parsing requests and requiring a signed-in user, for the API routes."""
from functools import wraps

from flask import request
from flask_login import current_user

from ..errors import BadRequest, Unauthorized


def json_body():
    """The request's JSON object; 400 when the body is not a JSON object."""
    if not request.data:
        return {}
    data = request.get_json(silent=True, force=True)
    if data is None:
        raise BadRequest("The request body is not valid JSON.", code="malformed_json")
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.", code="malformed_json")
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
