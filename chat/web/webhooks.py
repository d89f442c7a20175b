"""A conversation's outgoing webhooks as pages: the list with how deliveries go, add (plain form), delete.

Groups show the same section on their settings page; a direct conversation's members use ``/c/<id>/webhooks``.
The signing secret is shown once, on the page that answers the form that added the webhook.
"""
from flask import flash, render_template, url_for
from flask_login import current_user

from ..actions import inbox, webhooks
from ..errors import Invalid
from ..security import per_user
from . import bp
from .forms import WebhookForm, attach_error
from .helpers import redirect_or_fragment, signed_in


@bp.get("/c/<conversation_id>/webhooks")
@signed_in
def webhooks_page(conversation_id):
    return _page(conversation_id)


@bp.post("/c/<conversation_id>/webhooks")
@signed_in
@per_user("RATE_LIMIT_INTEGRATIONS")
def add_webhook(conversation_id):
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            added = webhooks.register(current_user.id, conversation_id, form.url.data)
        except Invalid as error:
            attach_error(form, error, "url")
        else:
            return _page(conversation_id, added=added)
    return _page(conversation_id, form=form, status=422)


@bp.post("/c/<conversation_id>/webhooks/<webhook_id>/delete")
@signed_in
def delete_webhook(conversation_id, webhook_id):
    webhooks.delete(current_user.id, webhook_id)
    flash("Webhook deleted: nothing more is sent to it.")
    return redirect_or_fragment(url_for("web.webhooks_page", conversation_id=conversation_id))


def _page(conversation_id, form=None, added=None, status=200):
    conversation = inbox.get_conversation(current_user.id, conversation_id)
    hooks = webhooks.list_for(current_user.id, conversation_id)  # 403 for a plain member of a group
    return render_template("webhooks/index.html", conversation=conversation, webhooks=hooks, added=added,
                           webhook_form=form or WebhookForm(formdata=None)), status
