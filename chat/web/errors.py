"""HTML error pages: what happened and what to do, as a page in the app's layout or as an htmx fragment.

``chat.errors.init_app`` decides which errors come here; this module only renders them.
"""
import logging

from flask import render_template
from flask_login import current_user

from .helpers import is_htmx, to_login

log = logging.getLogger(__name__)


def html_error(status, message, needs_sign_in=False, headers=None):
    """The response for an error on a non-API path: a page, or the fragment htmx swaps in."""
    if needs_sign_in and not current_user.is_authenticated:
        return to_login()
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    try:
        body = render_template(template, message=message, status=status)
    except Exception:
        log.exception("rendering the %s page failed", status)
        body = message
    return body, status, headers or {}
