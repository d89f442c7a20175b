"""Who receives what: committed outbox rows become per-user deliveries, decided at publish time.

Recipients are the conversation's members when the row is published (plus, for ``member.removed``, the
person removed, who learns of it and then hears nothing more). After a change that alters how members
see the conversation in their list, each affected member also gets ``conversation.updated`` with the
conversation as they see it; within one batch only the last such change per person carries it, since
every view is computed from the same, latest state. The views come from the read model
(``chat.read.conversations``), in a fixed handful of queries per batch; a view that only messages made
necessary is brief (a group's first few members, ``member_count`` for the rest).

``user.updated`` belongs to no conversation: it goes once to the person and to each person who shares a
conversation with them now (``chat.read.profiles``), carrying the public profile as it is now.
"""
from collections import Counter

from ..read import conversations as read
from ..read import profiles
from .events import Delivery

BULK_ADDITIONS = 20
MESSAGE_CHANGES = ("message.created", "message.updated", "message.deleted", "reaction.added", "reaction.removed")

# Changes after which every member's view of the conversation (preview, members, name) is out of date.
VIEW_CHANGES = {"message.created", "message.deleted", "member.added", "member.removed", "conversation.updated"}


def expand(conn, rows, conversations=None):
    """``[(row_id, conversation_id, [Delivery…])]`` for outbox ``rows`` (in id order); ``conversations``
    may hold their conversations' rows as read in this transaction (else they are read here)."""
    ids = list(dict.fromkeys(str(r.conversation_id) for r in rows if r.conversation_id is not None))
    brief = _unchanged_members(rows)
    people = read.members_by_conversation(
        conn, ids, shown=read.MEMBERS_IN_BRIEF_VIEW if brief.issuperset(ids) else read.MEMBERS_IN_EVENT)
    found = (conversations if conversations is not None and conversations.keys() >= set(ids)
             else read.conversations_by_id(conn, ids))
    members = {cid: group.ids for cid, group in people.items()}
    plan, wanted = _plan_views(rows, members, {cid: r.last_seq for cid, r in found.items()})
    shown = read.member_views(conn, wanted, found, people, _newest_messages(rows), brief)
    bulk = _bulk_additions(rows)
    audiences = profiles.audiences(conn, [r.payload["user_id"] for r in rows if r.event_type == "user.updated"])
    expanded = []
    for row in rows:
        cid = str(row.conversation_id) if row.conversation_id is not None else None
        if row.event_type == "user.updated":
            profile, audience = audiences.get(str(row.payload["user_id"]), (None, []))
            expanded.append((row.id, None, [Delivery(u, row.event_type, profile, None) for u in audience]))
            continue
        deliveries = [Delivery(user_id, row.event_type, row.payload, None)
                      for user_id in _recipients(row, members.get(cid, []), cid in bulk)]
        shared, own = shown.get(cid, (None, {}))
        deliveries += [Delivery(user_id, "conversation.updated", shared, own[user_id])
                       for user_id in plan.get(row.id, ()) if user_id in own]
        expanded.append((row.id, cid, deliveries))
    return expanded


def _newest_messages(rows):
    """``{conversation_id: message}`` where the batch's last message event of a conversation created it:
    that message as sent is the conversation's last message (the view checks its seq), with no query."""
    newest = {}
    for row in rows:
        if row.event_type in MESSAGE_CHANGES:
            newest[str(row.conversation_id)] = row.payload if row.event_type == "message.created" else None
    return {cid: message for cid, message in newest.items() if isinstance(message, dict)}


def _unchanged_members(rows):
    """Conversations whose members and name no row of the batch changes: their views can be brief."""
    changed = {str(r.conversation_id) for r in rows if r.event_type in ("member.added", "member.removed")
               or (r.event_type == "conversation.updated" and "user_id" not in r.payload)}
    return {str(r.conversation_id) for r in rows if r.conversation_id is not None} - changed


def _recipients(row, members, bulk=False):
    if row.event_type == "conversation.updated":
        return []  # a rename reaches people as their conversation.updated view
    if row.event_type == "member.added" and bulk:
        added = row.payload.get("user_id")
        return [added] if added in members else []
    if row.event_type == "member.removed" and row.payload.get("user_id") not in members:
        return [*members, row.payload["user_id"]]
    return members


def _bulk_additions(rows):
    """Conversations that gained more than ``BULK_ADDITIONS`` members in these rows (a group created with
    its members): each newcomer hears of their own addition, everyone sees the members in their view,
    instead of every member hearing of every addition (N² events for a group of N)."""
    counts = Counter(str(r.conversation_id) for r in rows if r.event_type == "member.added")
    return {cid for cid, count in counts.items() if count > BULK_ADDITIONS}


def _plan_views(rows, members, last_seqs):
    """Which row carries each member's ``conversation.updated``: ``({row_id: users}, {cid: users})``."""
    plan, wanted, covered = {}, {}, {}
    for row in reversed(rows):
        cid = str(row.conversation_id) if row.conversation_id is not None else None
        targets = _view_targets(row, members.get(cid, []), last_seqs.get(cid))
        done = covered.setdefault(cid, set())
        fresh = [u for u in targets if u not in done]
        if fresh:
            plan[row.id] = fresh
            done.update(fresh)
            wanted.setdefault(cid, set()).update(fresh)
    return plan, wanted


def _view_targets(row, members, last_seq):
    if row.event_type == "conversation.updated" and "user_id" in row.payload:
        # One member's own settings or read mark: nobody else's view changed.
        return [row.payload["user_id"]] if row.payload["user_id"] in members else []
    if row.event_type in VIEW_CHANGES:
        return members
    if row.event_type == "message.updated" and row.payload.get("seq") == last_seq:
        return members  # the edited message is the preview
    if row.event_type == "read" and row.payload.get("user_id") in members:
        return [row.payload["user_id"]]  # the reader's unread count changed, nobody else's
    return []
