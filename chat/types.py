"""The objects of shared/API.md ("Objects") as typed dicts: what actions return and the read model builds.

They document the boundary for readers and type checkers; nothing checks them at run time. Fields
other modules add later are added here too (additive, as the API contract is).
"""
from typing import Any, TypedDict


class User(TypedDict):
    id: str
    username: str
    display_name: str
    bio: str | None
    avatar_url: str | None
    created_at: str
    bot: bool  # made by a person with POST /api/v1/bots


class Member(User):
    """A user as a member of a conversation."""

    role: str  # "owner" | "admin" | "member"
    last_read_seq: int
    joined_at: str


class Attachment(TypedDict):
    id: str
    filename: str
    content_type: str
    size: int
    url: str
    width: int | None
    height: int | None
    duration_ms: int | None
    thumbnail_url: str | None


class Message(TypedDict):
    id: str
    conversation_id: str
    seq: int
    sender_id: str | None
    kind: str  # "text" | "image" | "file" | "audio" | "system"
    body: str
    metadata: dict[str, Any]
    client_id: str | None
    attachments: list[Attachment]
    created_at: str
    edited_at: str | None
    deleted_at: str | None
    revision: int  # +1 on every edit, reaction and delete
    body_html: str  # the body rendered safely (chat.read.formatting)
    reply_to: dict[str, Any] | None
    reactions: list[dict[str, Any]]
    mentions: list[str]


class Conversation(TypedDict):
    id: str
    kind: str  # "direct" | "group"
    name: str | None
    members: list[Member]  # all of them from the API; the first 100 in events
    member_count: int
    my_role: str
    last_seq: int
    last_message: Message | None
    unread_count: int
    last_read_seq: int
    created_at: str
    updated_at: str
    notify: str  # "all" | "mentions" | "none": the member's effective level
    archived: bool
    mention_count: int
    first_unread_seq: int | None


class Me(User):
    """The signed-in person as ``GET /api/v1/me`` shows them: with their private email."""

    email: str


class MessagePage(TypedDict):
    messages: list[Message]  # ascending by seq
    has_more: bool


class Edit(TypedDict):
    body: str
    edited_at: str
