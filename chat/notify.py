"""Notification levels: who a message should notify (the contract's "Notify levels").

``all`` notifies for every message of others; ``mentions`` only for a message that mentions the member;
``none`` never (unread counts are still kept). A member who never chose has the default: ``mentions`` in
groups over ``LARGE_GROUP`` members, else ``all``. Desktop notifications, Web Push and the return of an
archived conversation all ask the same question here.
"""
LEVELS = ("all", "mentions", "none")
LARGE_GROUP = 20


def default_level(kind: str, member_count: int) -> str:
    return "mentions" if kind == "group" and member_count > LARGE_GROUP else "all"


def level(chosen: str | None, kind: str, member_count: int) -> str:
    """The member's effective level: their choice, else the default for the conversation."""
    return chosen if chosen in LEVELS else default_level(kind, member_count)


def would_notify(effective_level: str, *, mentioned: bool, own: bool) -> bool:
    """Whether a message notifies a member at ``effective_level`` (never their own message)."""
    if own:
        return False
    if effective_level == "all":
        return True
    return effective_level == "mentions" and mentioned


def notifies(effective_level: str, message: dict, user_id: str) -> bool:
    """``would_notify`` for a message object (shared/API.md) and a member: system messages notify nobody."""
    if message.get("kind") == "system" or message.get("deleted_at"):
        return False
    return would_notify(effective_level, mentioned=user_id in (message.get("mentions") or ()),
                        own=message.get("sender_id") == user_id)
