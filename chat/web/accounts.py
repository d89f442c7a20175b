"""Sign up, sign in, sign out, and the landing page."""
from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ..actions import accounts
from ..auth import User
from ..errors import ActionError
from ..security import limiter
from . import bp
from .forms import LoginForm, SignupForm, attach_error
from .helpers import safe_next, signed_in


def _auth_limit():
    return current_app.config["AUTH_RATE_LIMIT"]


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return render_template("landing.html")
    return render_template("conversations/index.html")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = accounts.sign_up(form.email.data, form.username.data, form.password.data,
                                    form.display_name.data or None)
        except ActionError as error:
            attach_error(form, error, "email")
        else:
            login_user(User(user), remember=True)
            return redirect(safe_next(request.args.get("next")), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
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
            login_user(User(user), remember=True)
            return redirect(safe_next(request.args.get("next")), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@signed_in
def logout():
    logout_user()
    return redirect(url_for("web.login"), code=303)
