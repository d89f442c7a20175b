"""``/search``: the page behind the top bar's search box — results grouped by conversation, each with its
matching words marked and a link to the message in its place in the history. Works as a plain GET form."""
from flask import render_template, request
from flask_login import current_user

from ..actions import inbox
from ..actions import search as search_action
from ..errors import ActionError
from ..security import per_user, without_query
from . import bp
from .helpers import signed_in
from .page import conversation_title, sidebar_conversations

FILTERS = ("conversation_id", "from", "has", "after", "before")


@bp.get("/search")
@signed_in
@per_user("RATE_LIMIT_SEARCH", exempt_when=without_query)
def search():
    """No ``q``: just the form. Bad input: the form again with the message by its field (422)."""
    args = request.args
    form = {name: args.get(name, "") for name in ("q", *FILTERS)}
    context = {"form": form, "groups": [], "next_cursor": None, "error": None, "searched": bool(form["q"])}
    status = 200
    if form["q"]:
        try:
            page = search_action.search(
                current_user.id, form["q"], conversation_id=form["conversation_id"], sender=form["from"],
                has=form["has"], before=form["before"], after=form["after"], cursor=args.get("cursor"))
        except ActionError as error:
            context["error"], status = error, error.status
        else:
            context["groups"] = _grouped(page["results"])
            context["next_cursor"] = page["next_cursor"]
            context["next_args"] = {name: value for name, value in form.items() if value}
    context["conversations"] = [(c["id"], conversation_title(c, current_user.id)) for c in sidebar_conversations()]
    return render_template("search/index.html", **context), status


def _grouped(results):
    """Results in groups of one conversation each, in order of each conversation's newest match."""
    known = {c["id"]: c for c in sidebar_conversations()}  # the sidebar's list, loaded for the page anyway
    groups = {}
    for result in results:
        conversation_id = result["conversation_id"]
        if conversation_id not in groups:
            conversation = known.get(conversation_id) or inbox.get_conversation(current_user.id, conversation_id)
            groups[conversation_id] = {
                "id": conversation_id, "results": [], "title": conversation_title(conversation, current_user.id),
                "names": {m["id"]: m["display_name"] for m in conversation["members"]}}
        groups[conversation_id]["results"].append(result)
    return list(groups.values())
