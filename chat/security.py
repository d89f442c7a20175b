"""CSRF and rate limits.

Cookie-authenticated writes need the CSRF token (form field or ``X-CSRFToken`` header); bearer requests
carry no ambient authority and do not. API calls without a session (sign up, token) set no cookie.
"""
from flask import g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from .auth import bearer_token

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def init_app(app):
    csrf.init_app(app)
    limiter.init_app(app)

    @app.before_request
    def check_csrf():
        if request.method not in UNSAFE_METHODS:
            return
        if bearer_token() is not None:
            return
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            return
        csrf.protect()
        g.csrf_checked = True
