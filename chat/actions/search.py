"""Search messages by their words: ``search(viewer_id, q, ...)`` → ``{results, next_cursor}``, newest first.

Contract (shared/API.md, "Search"):
- only messages of conversations the viewer is a member of *now* (a removed member finds nothing there);
- by the current text only: the index is the stored body (Postgres' generated ``search_vector``, SQLite's
  FTS5 ``message_search`` kept by triggers), so an edit or a delete changes results at its commit;
  deleted messages are left out as well;
- every word of ``q`` must match, regardless of case and accents (``simple`` + ``unaccent`` on Postgres,
  ``unicode61 remove_diacritics 2`` on SQLite);
- filters: ``conversation_id`` (404 unless a member), ``from`` (a user id or username), ``has=attachment``,
  ``after`` (inclusive) / ``before`` (exclusive) as ISO dates or date-times (UTC unless they say otherwise);
- ``limit`` 1–50 (default 20); ``next_cursor`` is an opaque keyset cursor on (created_at, id), or null.
Bad input is a 422 naming its field. On Postgres the query runs as the viewer, so RLS applies too; the
candidate ids come from ``public.search_message_ids`` (the GIN index, the caller's memberships only),
because under RLS a plain ``@@`` condition runs only after ``is_member()`` on every row and cannot use it.
"""
import base64
import binascii
import json
import re
import unicodedata
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.dialects import postgresql

from ..db import transaction
from ..errors import Invalid
from ..read.presenters import messages_with_attachments
from ..schema import attachments, memberships, messages, users
from . import access, validate

MAX_QUERY = 200
MAX_LIMIT = 50
DEFAULT_LIMIT = 20
EXCERPT = 80  # characters kept on each side of the first match in a long message
_WORD = re.compile(r"\w+")
_message_search = sa.table("message_search", sa.column("message_id"))  # SQLite FTS5 (chat.schema)


def search(viewer_id, q, conversation_id=None, sender=None, has=None, before=None, after=None,
           limit=None, cursor=None):
    """The page of results for ``q`` and the filters; see the module docstring."""
    q = validate.text(q, "q", max_len=MAX_QUERY)
    limit = validate.integer(limit, "limit", minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT)
    if has not in (None, "", "attachment"):
        raise Invalid("The only has filter is “attachment”.", field="has")
    before, after = _moment(before, "before"), _moment(after, "after")
    position = _decode_cursor(cursor)
    words = query_words(q)
    with transaction(viewer_id) as conn:
        query = (sa.select(messages)
                 .join(memberships, sa.and_(memberships.c.conversation_id == messages.c.conversation_id,
                                            memberships.c.user_id == viewer_id))
                 .where(messages.c.deleted_at.is_(None)))
        scope = {"in_conversation": None, "from_user": None, "with_attachment": bool(has),
                 "not_before": after, "before": before, "cursor_at": None, "cursor_id": None}
        if conversation_id not in (None, ""):
            member = access.membership(conn, viewer_id, conversation_id)
            scope["in_conversation"] = str(member.id)
            query = query.where(messages.c.conversation_id == member.id)
        if sender not in (None, ""):
            scope["from_user"] = _sender_id(conn, sender)
            query = query.where(messages.c.sender_id == scope["from_user"])
        if has:
            query = query.where(sa.exists().where(attachments.c.message_id == messages.c.id))
        if after is not None:
            query = query.where(messages.c.created_at >= after)
        if before is not None:
            query = query.where(messages.c.created_at < before)
        if position is not None:
            at, last_id = position
            scope["cursor_at"], scope["cursor_id"] = at, last_id
            query = query.where(sa.or_(messages.c.created_at < at,
                                       sa.and_(messages.c.created_at == at, messages.c.id < last_id)))
        if not words:
            return {"results": [], "next_cursor": None}  # nothing searchable in q (only punctuation)
        query = _match(conn, query, words, scope, limit + 1)
        rows = conn.execute(query.order_by(messages.c.created_at.desc(), messages.c.id.desc())
                            .limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        found = messages_with_attachments(conn, rows)
    results = [{"message": m, "conversation_id": m["conversation_id"], "highlight": str(highlight(m["body"], words))}
               for m in found]
    next_cursor = _encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return {"results": results, "next_cursor": next_cursor}


def _match(conn, query, words, scope, max_rows):
    if conn.dialect.name == "postgresql":
        # Candidates from the GIN index through public.search_message_ids (the caller's memberships only;
        # under RLS a direct `@@` could not use the index), then read under RLS like any other query.
        candidates = sa.select(sa.column("search_message_ids", type_=messages.c.id.type)).select_from(
            sa.func.public.search_message_ids(
                " ".join(words), max_rows, sa.cast(scope["in_conversation"], messages.c.id.type),
                sa.cast(scope["from_user"], messages.c.id.type), scope["with_attachment"],
                sa.cast(scope["not_before"], postgresql.TIMESTAMP(timezone=True)),
                sa.cast(scope["before"], postgresql.TIMESTAMP(timezone=True)),
                sa.cast(scope["cursor_at"], postgresql.TIMESTAMP(timezone=True)),
                sa.cast(scope["cursor_id"], messages.c.id.type)))
        return query.where(messages.c.id.in_(candidates))
    # FTS5: each word a quoted string (no operator or column syntax from the user), all of them required.
    fts_query = " ".join('"' + w.replace('"', '""') + '"' for w in words)
    return (query.join(_message_search, _message_search.c.message_id == messages.c.id)
            .where(sa.text("message_search MATCH :fts_query").bindparams(fts_query=fts_query)))


def query_words(q):
    """The words of a query, as the indexes split text (letters and digits; punctuation separates)."""
    return _WORD.findall(q.replace("_", " "))


def fold(text):
    """A word as the indexes compare it: accents removed, case folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def highlight(body, words):
    """``body`` as safe HTML with each matching word in ``<mark>``; long bodies are cut around the first match.

    Computed from the text (never from stored HTML) and escaped piece by piece.
    """
    wanted = {fold(w) for w in words}
    spans = [m.span() for m in _WORD.finditer(body.replace("_", " ")) if fold(m.group()) in wanted]
    start, end, prefix, suffix = 0, len(body), "", ""
    if spans and len(body) > 2 * EXCERPT + 40:
        start = max(0, spans[0][0] - EXCERPT)
        end = min(len(body), spans[0][1] + EXCERPT)
        prefix, suffix = ("…" if start > 0 else ""), ("…" if end < len(body) else "")
    out, at = [escape(prefix)], start
    for s, e in spans:
        if s < start or e > end:
            continue
        out += [escape(body[at:s]), Markup("<mark>"), escape(body[s:e]), Markup("</mark>")]
        at = e
    out += [escape(body[at:end]), escape(suffix)]
    return Markup("").join(out)


def _sender_id(conn, value):
    """A user id or a username → the user's id; an unknown one is a 422 naming ``from``."""
    value = validate.text(value, "from", max_len=100)
    try:
        column, key = users.c.id, validate.uuid_field(value, "from")
    except Invalid:
        column, key = users.c.username, value.lstrip("@").lower()
    found = conn.execute(sa.select(users.c.id).where(column == key)).scalar()
    if found is None:
        raise Invalid("No one has that username or id.", field="from")
    return str(found)


def _moment(value, field):
    """An ISO date (midnight UTC) or date-time (UTC unless it says otherwise); else a 422 naming ``field``."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise Invalid(f"The {field} filter must be an ISO date such as 2026-11-28.", field=field)
    try:
        if len(value.strip()) == 10:
            return datetime.combine(date.fromisoformat(value.strip()), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"The {field} filter must be an ISO date such as 2026-11-28.", field=field) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _encode_cursor(created_at, message_id):
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), str(message_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor):
    if cursor in (None, ""):
        return None
    try:
        text = str(cursor)
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        at, message_id = json.loads(raw)
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError(at)
        return moment.astimezone(UTC), validate.uuid_field(message_id, "cursor")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError, Invalid):
        raise Invalid("That cursor is not one this search gave.", field="cursor") from None
