"""Groups: create, rename, add and remove members, leave. Each change to a group says what it did on the
settings page it returns to (a flashed line), so a manager knows their Save, Add or Remove took effect."""
import re

from flask import flash, render_template, request, url_for
from flask_login import current_user

from ..actions import conversations, inbox, members, users, webhooks
from ..errors import ActionError, Invalid, NotFound
from ..security import per_user
from . import bp
from .forms import AddMemberForm, GroupForm, RenameForm, WebhookForm, attach_error
from .helpers import redirect_or_fragment, signed_in


def _settings_url(conversation_id):
    return url_for("web.group_settings", conversation_id=conversation_id)


def _people_named(text, field):
    """User ids for usernames separated by commas or spaces; an unknown one is an error on ``field``."""
    ids = []
    for name in [n.lstrip("@") for n in re.split(r"[\s,]+", text or "") if n.strip()]:
        try:
            ids.append(users.get_user(current_user.id, name)["id"])
        except NotFound:
            raise Invalid(f"Nobody is called “{name}”.", field=field) from None
    return ids


@bp.route("/groups/new", methods=["GET", "POST"])
@signed_in
@per_user("RATE_LIMIT_GROUPS", methods=["POST"])
def new_group():
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = conversations.create_group(current_user.id, form.name.data,
                                               _people_named(form.members.data, "members"))
        except ActionError as error:
            attach_error(form, error, "name" if error.field == "name" else "members")
        else:
            return redirect_or_fragment(url_for("web.conversation", conversation_id=group["id"]))
    return render_template("groups/new.html", form=form), 422 if form.errors else 200


@bp.get("/c/<conversation_id>/settings")
@signed_in
def group_settings(conversation_id):
    return _settings_page(conversation_id)


def _settings_page(conversation_id, rename_form=None, add_form=None, status=200):
    conversation = inbox.get_conversation(current_user.id, conversation_id)
    if conversation["kind"] != "group":
        raise NotFound("Only groups have settings.")
    rename_form = rename_form or RenameForm(formdata=None, name=conversation["name"])
    hooks = webhooks.list_for(current_user.id, conversation_id) if conversation["my_role"] != "member" else []
    return render_template("groups/settings.html", conversation=conversation, rename_form=rename_form,
                           add_form=add_form or AddMemberForm(formdata=None), webhooks=hooks,
                           webhook_form=WebhookForm(formdata=None)), status


@bp.post("/c/<conversation_id>/rename")
@signed_in
def rename_group(conversation_id):
    form = RenameForm()
    if form.validate_on_submit():
        try:
            group = conversations.rename_group(current_user.id, conversation_id, form.name.data)
        except Invalid as error:
            attach_error(form, error, "name")
        else:
            flash(f"Renamed to “{group['name']}”.")
            return redirect_or_fragment(_settings_url(conversation_id))
    return _settings_page(conversation_id, rename_form=form, status=422)


@bp.post("/c/<conversation_id>/members")
@signed_in
@per_user("RATE_LIMIT_MEMBERS")
def add_member(conversation_id):
    form = AddMemberForm()
    if form.validate_on_submit():
        try:
            picked = request.form.get("pick") or form.username.data  # a suggestion's Add button, or typed
            [user_id] = _people_named(picked, "username")[:1] or [None]
            members.add_member(current_user.id, conversation_id, user_id)
        except ActionError as error:
            if error.status not in (409, 422):
                raise
            attach_error(form, error, "username")
        else:
            flash(f"Added {users.get_user(current_user.id, user_id)['display_name']}.")
            return redirect_or_fragment(_settings_url(conversation_id))
    return _settings_page(conversation_id, add_form=form, status=422)


@bp.post("/c/<conversation_id>/members/<user_id>/remove")
@signed_in
def remove_member(conversation_id, user_id):
    members.remove_member(current_user.id, conversation_id, user_id)
    if user_id == current_user.id:
        return redirect_or_fragment(url_for("web.home"))
    flash(f"Removed {users.get_user(current_user.id, user_id)['display_name']}.")
    return redirect_or_fragment(_settings_url(conversation_id))


@bp.post("/c/<conversation_id>/leave")
@signed_in
def leave_group(conversation_id):
    members.remove_member(current_user.id, conversation_id, current_user.id)
    return redirect_or_fragment(url_for("web.home"))
