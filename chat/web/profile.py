"""Your profile settings: display name, bio and avatar, as a plain form (``/settings/profile``).

The page posts one form for the name, the bio and an optional new picture, all or nothing
(``profiles.save_profile``); "Remove picture" is a second small form. The password is on the account page.
"""
from flask import redirect, render_template, request, url_for
from flask_login import current_user

from ..actions import accounts, profiles
from ..errors import ActionError
from ..security import per_user
from . import bp
from .forms import ProfileForm, attach_error
from .helpers import signed_in
from .people_lookup import people_cache


def _page(form=None, status=200, notice=None):
    me = accounts.get_me(current_user.id)
    if form is None:
        form = ProfileForm(data={"display_name": me["display_name"], "bio": me["bio"]})
    return render_template("account/profile.html", form=form, me=me, notice=notice), status


@bp.get("/settings/profile")
@signed_in
def profile_settings():
    return _page(notice=request.args.get("done"))


@bp.post("/settings/profile")
@signed_in
@per_user("RATE_LIMIT_UPLOADS")
def save_profile():
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            profiles.save_profile(current_user.id, form.display_name.data or "", form.bio.data or "",
                                  request.files.get("file"))
        except ActionError as error:
            attach_error(form, error, "display_name")
        else:
            people_cache.remember(accounts.get_me(current_user.id))  # this process's next renders, at once
            return redirect(url_for("web.profile_settings", done="saved"), code=303)
    return _page(form, 422)


@bp.post("/settings/profile/avatar/remove")
@signed_in
def remove_avatar():
    form = ProfileForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    people_cache.remember(profiles.remove_avatar(current_user.id))
    return redirect(url_for("web.profile_settings", done="removed"), code=303)
