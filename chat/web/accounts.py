"""Sign up, sign in, sign out, the account page (password, sessions), and the landing page.

Signing in starts a server-side session (``chat.auth.sign_in``); "Keep me signed in" adds the remember-me
cookie, which carries the same revocable, expiring session. Signing out ends that session everywhere it
was copied. The account page changes the password (every other session and token ends), lists the live
sessions with a "Sign out" each, and signs out everywhere.
"""
from flask import redirect, render_template, request, url_for
from flask_login import current_user, logout_user

from .. import auth
from ..actions import accounts, sessions
from ..errors import ActionError
from ..security import per_account_sign_in, per_address_auth
from . import bp
from .forms import LoginForm, PasswordChangeForm, SignupForm, attach_error
from .helpers import redirect_or_fragment, safe_next, signed_in


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return render_template("landing.html")
    return render_template("conversations/index.html")


@bp.route("/signup", methods=["GET", "POST"])
@per_address_auth()
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = accounts.sign_up(form.email.data, form.username.data, form.password.data,
                                    form.display_name.data or None)
        except ActionError as error:
            attach_error(form, error, "email")
        else:
            auth.sign_in(user)
            return redirect(safe_next(request.args.get("next")), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@per_address_auth()
@per_account_sign_in()
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.login.data, form.password.data)
        except ActionError as error:
            attach_error(form, error, "password")
        else:
            auth.sign_in(user, remember=bool(form.remember.data))
            return redirect(safe_next(request.args.get("next")), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@signed_in
def logout():
    auth.sign_out(current_user)
    return redirect(url_for("web.login"), code=303)


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Chromium/", "Chromium"), ("Safari/", "Safari"), ("curl/", "curl"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def browser_name(user_agent):
    """A short, human name for a User-Agent header ("Firefox on Linux"); "Unknown browser" if none fits."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


def _account_page(form=None, status=200, notice=None):
    listed = [{**s, "browser": browser_name(s["user_agent"])} for s in sessions.list_active(current_user.id)]
    from .push import push_settings
    return render_template("account/index.html", form=form or PasswordChangeForm(), notice=notice,
                           sessions=listed, current_session=current_user.session_id,
                           push=push_settings(current_user.id)), status


@bp.get("/settings/account")
@signed_in
def account():
    return _account_page(notice=request.args.get("done"))


@bp.post("/settings/account/password")
@signed_in
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user.id, form.current_password.data, form.new_password.data,
                                     keep_session=current_user.session_id)
        except ActionError as error:
            attach_error(form, error, "current_password")
        else:
            auth.announce_revocation(current_user.id)
            return redirect(url_for("web.account", done="password"), code=303)
    return _account_page(form, 422)


@bp.post("/settings/account/sessions/<session_id>/revoke")
@signed_in
def revoke_session(session_id):
    user_id = current_user.id
    sessions.revoke_own(user_id, session_id)
    auth.announce_revocation(user_id)
    if session_id == current_user.session_id:
        logout_user()
        return redirect_or_fragment(url_for("web.login"))
    return redirect_or_fragment(url_for("web.account", done="session"))


@bp.post("/settings/account/sign-out-everywhere")
@signed_in
def sign_out_everywhere():
    sessions.revoke_all(current_user.id)
    auth.sign_out(current_user)  # then forget this browser's session and tell the open streams
    return redirect_or_fragment(url_for("web.login"))
