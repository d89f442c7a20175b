"""CSRF, rate limits and security headers.

Cookie-authenticated writes need the CSRF token (form field or ``X-CSRFToken`` header); bearer requests
carry no ambient authority and do not. API calls without a session (sign up, token) set no cookie.

Rate limits (flask-limiter; ``RATELIMIT_ENABLED=0`` turns them all off): sign-in and sign-up per client
address (``TRUSTED_PROXIES`` decides how far ``X-Forwarded-For`` is believed), sign-in also per account
(the login, lower-cased), and per signed-in user for writes and stream opens (``per_user``). The web and
API routes of one action share a counter. A breach is 429 with ``Retry-After``: the JSON error shape on
/api/, a sentence on the web pages.
"""
from flask import current_app, g, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from .auth import bearer_token

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
HSTS = "max-age=31536000; includeSubDomains"
TOO_MANY = "You are doing that too often. Wait a moment and try again."


def _config_limit(name):
    return lambda: current_app.config[name]


def _user_key():
    # Signed-out requests are refused by the route itself; count them per address meanwhile.
    if current_user.is_authenticated:
        return "user:" + str(current_user.id)
    return "addr:" + (get_remote_address() or "")


def _login_key():
    """The account a sign-in names, whether it came as JSON (API) or as a form (web)."""
    if request.is_json:
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # absurdly deep JSON: the route itself answers 400
            data = None
        login = data.get("login") if isinstance(data, dict) else None
    else:
        login = request.form.get("login")
    return "login:" + (login.strip().lower()[:320] if isinstance(login, str) else "")


def per_address_auth():
    """Sign-in and sign-up, per client address; the web form and the API share one counter."""
    return limiter.shared_limit(_config_limit("AUTH_RATE_LIMIT"), scope="auth-address", methods=["POST"])


def per_account_sign_in():
    """Sign-in per account, however many addresses the guesses come from (web and API together)."""
    return limiter.shared_limit(_config_limit("RATE_LIMIT_SIGN_IN_ACCOUNT"), scope="sign-in-account",
                                key_func=_login_key, methods=["POST"])


def per_user(config_name, methods=None, exempt_when=None):
    """A per-user limit named by a config key (e.g. ``RATE_LIMIT_SENDS``), shared by web and API routes."""
    return limiter.shared_limit(_config_limit(config_name), scope=config_name.lower(), key_func=_user_key,
                                methods=methods, exempt_when=exempt_when)


def without_query():
    """For ``exempt_when``: a directory listing without a search term (``?q=``) is not a search."""
    return not request.args.get("q")


def without_file():
    """For ``exempt_when``: the request carries no uploaded file (a web send with text only)."""
    return not any(upload.filename for upload in request.files.getlist("file"))


def too_many_requests(error):
    """429: the JSON error shape on /api/, a page or htmx fragment with a sentence elsewhere.

    flask-limiter adds ``Retry-After`` (and the X-RateLimit headers) to whatever is returned here.
    """
    if request.path.startswith(("/api/", "/hooks/")):
        from .api import error_response
        return error_response(429, "rate_limited", TOO_MANY)
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render_template(template, message=TOO_MANY, status=429), 429


def init_app(app):
    csrf.init_app(app)
    limiter.init_app(app)
    app.register_error_handler(429, too_many_requests)

    @app.before_request
    def check_csrf():
        if request.method not in UNSAFE_METHODS:
            return
        if bearer_token() is not None:
            return
        if request.path.startswith("/hooks/"):
            return  # an incoming webhook's secret URL is its only credential; no cookie is read there
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            return
        csrf.protect()
        g.csrf_checked = True

    @app.after_request
    def strict_transport_security(response):
        if app.config.get("CHAT_ENV") == "production" and request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
