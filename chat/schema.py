"""The tables, as SQLAlchemy Core objects used to build queries on both SQLite and Postgres.

Postgres' schema of record is ``supabase/migrations/*.sql``; SQLite's is created from this metadata by
``chat.migrations``. ``tests/test_schema_parity.py`` proves the two define the same tables and columns.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

Id = sa.String(36).with_variant(postgresql.UUID(as_uuid=False), "postgresql")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite only autoincrements INTEGER keys


class UTCDateTime(sa.TypeDecorator):
    """``timestamptz`` on Postgres, ISO text on SQLite; always an aware UTC datetime in Python."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use chat.schema.utcnow()")
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow():
    return datetime.now(UTC)


users = sa.Table(
    "users", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("bio", sa.Text, nullable=False, server_default=""),
    sa.Column("avatar_url", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("avatar_key", sa.Text),  # an uploaded avatar in the store (chat.actions.profiles)
    # Set for a bot: the person who made it (it posts with its own token, never with a password).
    sa.Column("bot_owner_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Index("users_bot_owner_id_idx", "bot_owner_id"),
)

# Private to the server: never readable through RLS (email is shown only on /me).
accounts = sa.Table(
    "accounts", metadata,
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("email", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("expires_at", UTCDateTime),  # null: never (tokens issued before expiry existed)
)

conversations = sa.Table(
    "conversations", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # 'direct' | 'group'
    sa.Column("name", sa.Text),
    sa.Column("direct_key", sa.Text, unique=True),  # "<smaller user id>:<larger user id>" for direct
    sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False, index=True),
)

memberships = sa.Table(
    "memberships", metadata,
    sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.Text, nullable=False, server_default="member"),  # owner | admin | member
    sa.Column("last_read_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("joined_at", UTCDateTime, nullable=False),
    # null: the default level (all; mentions in groups over 20 members). See chat/notify.py.
    sa.Column("notify", sa.Text),
    # Archived as of this seq: shown as archived until a later message would notify the member.
    sa.Column("archived_seq", sa.BigInteger),
    sa.Index("memberships_user_id_idx", "user_id", "conversation_id"),
)

messages = sa.Table(
    "messages", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("sender_id", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("kind", sa.Text, nullable=False, server_default="text"),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("metadata", Json, nullable=False),
    sa.Column("client_id", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("edited_at", UTCDateTime),
    sa.Column("deleted_at", UTCDateTime),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    sa.Column("reply_to_id", Id, sa.ForeignKey("messages.id", ondelete="SET NULL")),
    sa.Index("messages_reply_to_id_idx", "reply_to_id"),
    sa.UniqueConstraint("conversation_id", "seq", name="messages_conversation_id_seq_key"),
    # A client_id is one sender's idempotency key within one conversation.
    sa.UniqueConstraint("sender_id", "conversation_id", "client_id",
                        name="messages_sender_id_conversation_id_client_id_key"),
)

# Every earlier version of an edited message, newest last.
message_edits = sa.Table(
    "message_edits", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("message_id", Id, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("edited_at", UTCDateTime, nullable=False),
)

# One row per person, message and emoji; each change moves the message's revision on (a trigger, as on
# Postgres, so that no caller can forget it).
message_reactions = sa.Table(
    "message_reactions", metadata,
    sa.Column("message_id", Id, sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("emoji", sa.Text, primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("message_reactions_message_id_idx", "message_id", "created_at"),
    sa.Index("message_reactions_user_id_idx", "user_id"),
)
for _event in ("insert", "delete"):
    _row = "new" if _event == "insert" else "old"
    sa.event.listen(message_reactions, "after_create", sa.DDL(
        f"create trigger if not exists message_reactions_revision_{_event} after {_event} on message_reactions "
        f"begin update messages set revision = revision + 1 where id = {_row}.message_id; end"
    ).execute_if(dialect="sqlite"))

# Whom each message mentions (members only), with the message's conversation and seq for unread counts.
message_mentions = sa.Table(
    "message_mentions", metadata,
    sa.Column("message_id", Id, sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Index("message_mentions_user_id_idx", "user_id", "conversation_id", "seq"),
    sa.Index("message_mentions_conversation_id_idx", "conversation_id"),
)

attachments = sa.Table(
    "attachments", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("uploader_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("message_id", Id, sa.ForeignKey("messages.id", ondelete="SET NULL"), index=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("storage_key", sa.Text, nullable=False, unique=True),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("thumbnail_key", sa.Text),  # a small WebP preview of a picture, in the same store
)

# Events written in the same transaction as the change they describe; the relay publishes them.
outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", Id),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("published_at", UTCDateTime),
    sa.Index("outbox_unpublished_idx", "id", postgresql_where=sa.text("published_at IS NULL"),
             sqlite_where=sa.text("published_at IS NULL")),
)

# Signed-in browser sessions. The cookie (and the remember-me cookie) carries a random secret whose hash is
# ``token_hash``; ``id`` is the public handle the account page uses to sign one session out.
sessions = sa.Table(
    "sessions", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("user_agent", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)


# One Web Push subscription per browser endpoint.
push_subscriptions = sa.Table(
    "push_subscriptions", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("p256dh", sa.Text, nullable=False),
    sa.Column("auth", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_success_at", UTCDateTime),
    sa.UniqueConstraint("endpoint", name="push_subscriptions_endpoint_key"),
    sa.Index("push_subscriptions_user_id_idx", "user_id"),
)

# Push work: one row per message and subscription it should reach, written by the relay's publish hook
# (chat.delivery.push) and sent by its sweep. The key makes each message go at most once to a browser.
push_deliveries = sa.Table(
    "push_deliveries", metadata,
    sa.Column("message_id", Id, sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("subscription_id", Id, sa.ForeignKey("push_subscriptions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", Id, nullable=False),  # the member it is for (the subscription's owner then)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("done_at", UTCDateTime),
    sa.Column("outcome", sa.Text),  # sent | gone | skipped | failed
    sa.Index("push_deliveries_subscription_id_idx", "subscription_id"),
    sa.Index("push_deliveries_due_idx", "next_attempt_at",
             postgresql_where=sa.text("done_at is null"), sqlite_where=sa.text("done_at is null")),
)


def upgrade_sqlite_sessions(conn):
    """SQLite migration 0002: the sessions table and ``api_tokens.expires_at`` on a database made before them."""
    sessions.create(conn, checkfirst=True)
    columns = {row[1] for row in conn.exec_driver_sql("pragma table_info(api_tokens)")}
    if "expires_at" not in columns:
        conn.exec_driver_sql("alter table api_tokens add column expires_at DATETIME")
# This database's identity, made once (the Postgres migration fills it; delivery.instance otherwise):
# it namespaces everything the live delivery keeps in Redis. Only the server reads it.
chat_instance = sa.Table(
    "chat_instance", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


# --- Search (SQLite) -----------------------------------------------------------------------------------------
# Postgres keeps a generated ``messages.search_vector`` (tsvector, GIN) from its migration; SQLite keeps this
# FTS5 table instead, filled by triggers so that every write to ``messages`` (send, edit, delete, anything
# else) changes the index in the same transaction and none can forget it. Neither is part of ``metadata``:
# the queries in ``chat.actions.search`` name them directly, and tests/test_schema_parity.py leaves them out
# (``SEARCH_INDEX_TABLES``, ``SEARCH_INDEX_COLUMNS``).
# ``remove_diacritics 2`` folds accents (also on letters with several marks); unicode61 folds case.
# The FTS rowid is not tied to messages' rowid (VACUUM may renumber a table without an INTEGER PRIMARY KEY):
# rows are found by ``message_id``.
SEARCH_INDEX_TABLES = ("message_search", "message_search_data", "message_search_idx", "message_search_content",
                       "message_search_docsize", "message_search_config")
SEARCH_INDEX_COLUMNS = {"messages": ("search_vector",)}  # Postgres only

_SQLITE_SEARCH_DDL = (
    "create virtual table if not exists message_search using fts5("
    " body, message_id unindexed, tokenize = 'unicode61 remove_diacritics 2')",
    "create trigger if not exists message_search_insert after insert on messages"
    " when new.deleted_at is null and new.body <> '' begin"
    " insert into message_search (body, message_id) values (new.body, new.id); end",
    "create trigger if not exists message_search_update after update of body, deleted_at on messages begin"
    " delete from message_search where message_id = old.id;"
    " insert into message_search (body, message_id)"
    " select new.body, new.id where new.deleted_at is null and new.body <> ''; end",
    "create trigger if not exists message_search_delete after delete on messages begin"
    " delete from message_search where message_id = old.id; end",
)


def upgrade_sqlite_search(conn):
    """SQLite migration 0004: the FTS5 search index and its triggers, filled from the messages already there."""
    exists = conn.exec_driver_sql(
        "select 1 from sqlite_master where type = 'table' and name = 'message_search'").first()
    for statement in _SQLITE_SEARCH_DDL:
        conn.exec_driver_sql(statement)
    if not exists:
        conn.exec_driver_sql("insert into message_search (body, message_id) select body, id from messages"
                             " where deleted_at is null and body <> ''")
def add_sqlite_column(table, column, ddl):
    """A SQLite migration step: ``alter table <table> add column <ddl>`` unless ``column`` is there already."""
    def apply(conn):
        columns = {row[1] for row in conn.exec_driver_sql(f"pragma table_info({table})")}
        if column not in columns:
            conn.exec_driver_sql(f"alter table {table} add column {ddl}")
    return apply


def upgrade_sqlite_replies(conn):
    """SQLite migration 0007: ``messages.reply_to_id`` and its index on a database made before them."""
    add_sqlite_column("messages", "reply_to_id",
                      "reply_to_id VARCHAR(36) REFERENCES messages (id) ON DELETE SET NULL")(conn)
    conn.exec_driver_sql("create index if not exists messages_reply_to_id_idx on messages (reply_to_id)")
def upgrade_sqlite_attachment_thumbnails(conn):
    """SQLite migration: ``attachments.thumbnail_key`` on a database made before it."""
    columns = {row[1] for row in conn.exec_driver_sql("pragma table_info(attachments)")}
    if "thumbnail_key" not in columns:
        conn.exec_driver_sql("alter table attachments add column thumbnail_key TEXT")


def upgrade_sqlite_keeping_up(conn):
    """SQLite migration 0009: notification levels and archive per member, mentions, push subscriptions."""
    add_sqlite_column("memberships", "notify", "notify TEXT")(conn)
    add_sqlite_column("memberships", "archived_seq", "archived_seq BIGINT")(conn)
    message_mentions.create(conn, checkfirst=True)
    push_subscriptions.create(conn, checkfirst=True)
# --- Integrations ---------------------------------------------------------------------------------------------
# Outgoing webhooks: every stored event of the conversation is POSTed to ``url``, signed with ``secret`` (which
# only the server reads back). ``leased_until`` lets one sender at a time work through a webhook's deliveries.
webhooks = sa.Table(
    "webhooks", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_delivery_at", UTCDateTime),
    sa.Column("last_status", sa.Integer),  # the receiver's HTTP status, null when it did not answer
    sa.Column("last_error", sa.Text),
    sa.Column("failing_since", UTCDateTime),
    sa.Column("leased_until", UTCDateTime),
)

# One row per event per webhook, written by the relay's publish hook in the batch that publishes the event
# (so exactly once), sent in ``outbox_id`` order per webhook; ``id`` is the delivery id receivers dedupe by.
webhook_deliveries = sa.Table(
    "webhook_deliveries", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("webhook_id", Id, sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("outbox_id", sa.BigInteger, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("abandoned_at", UTCDateTime),  # retried for WEBHOOK_RETRY_FOR_SECONDS without an answer
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("webhook_id", "outbox_id", name="webhook_deliveries_webhook_id_outbox_id_key"),
)

# Incoming webhooks: ``POST /hooks/<secret>`` posts into the conversation as ``created_by``. Only the
# secret's SHA-256 is stored.
incoming_webhooks = sa.Table(
    "incoming_webhooks", metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("secret_hash", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


def upgrade_sqlite_integrations(conn):
    """SQLite migration 0011: bots (``users.bot_owner_id``), outgoing and incoming webhooks."""
    add_sqlite_column("users", "bot_owner_id",
                      "bot_owner_id VARCHAR(36) REFERENCES users (id) ON DELETE CASCADE")(conn)
    conn.exec_driver_sql("create index if not exists users_bot_owner_id_idx on users (bot_owner_id)")
    for table in (webhooks, webhook_deliveries, incoming_webhooks):
        table.create(conn, checkfirst=True)


def upgrade_sqlite_push_more(conn):
    """SQLite migration 0015: the push work rows."""
    push_deliveries.create(conn, checkfirst=True)
