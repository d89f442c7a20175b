"""Configuration: every setting and its default, read from the environment once, in one place.

``from_environment(env, instance_path, overrides)`` returns the whole Flask config: the environment's
values, then the caller's ``overrides`` (tests, scripts), then what depends on both (``DELIVERY_SYNC``
follows ``TESTING``; a development secret is made only when nobody supplied ``SECRET_KEY``). Code that
uses a setting reads ``app.config[NAME]``: its default lives here and nowhere else.
"""
import os
import secrets
from datetime import timedelta


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


def _int(env, name, default):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def normalize_database_url(url):
    """Accept Heroku's ``postgres://`` and plain ``postgresql://`` URLs; use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def from_environment(env=None, instance_path="instance", overrides=None):
    """Build the Flask config mapping from environment variables (see README, "Configuration").

    ``overrides`` win over the environment; a ``SECRET_KEY`` among them means nothing is read from or
    written to ``instance_path/secret_key``.
    """
    env = os.environ if env is None else env
    overrides = dict(overrides or {})
    development = env.get("FLASK_DEBUG") == "1" or env.get("CHAT_ENV", "development") == "development"
    secret = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret:
        if not development:
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random string, e.g. "
                "`export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')`."
            )
        secret = _development_secret(instance_path)
    database_url = env.get("DATABASE_URL") or "sqlite:///" + os.path.join(instance_path, "chat.sqlite3")
    settings = {
        "SECRET_KEY": secret,
        "TESTING": False,
        "CHAT_ENV": "development" if development else env.get("CHAT_ENV", "production"),
        "DATABASE_URL": normalize_database_url(database_url),
        "DATABASE_POOL_SIZE": _int(env, "DATABASE_POOL_SIZE", 10),
        "DATABASE_POOL_TIMEOUT": _int(env, "DATABASE_POOL_TIMEOUT", 30),  # then the request gets a 503
        "REDIS_URL": env.get("REDIS_URL") or None,
        "UPLOAD_FOLDER": env.get("UPLOAD_FOLDER") or os.path.join(instance_path, "uploads"),
        "MAX_UPLOAD_BYTES": _int(env, "MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_UPLOAD_BYTES", 10 * 1024 * 1024) + 64 * 1024,
        "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "1") == "1",
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Sign-in must keep working while Redis is down: count in memory until it is back.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "WTF_CSRF_TIME_LIMIT": None,  # chat tabs stay open for hours
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in chat.security, which knows about bearer tokens
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": not development,
        "REMEMBER_COOKIE_SECURE": not development,
        "SSE_HEARTBEAT_SECONDS": _int(env, "SSE_HEARTBEAT_SECONDS", 15),
        "SSE_QUEUE_SIZE": _int(env, "SSE_QUEUE_SIZE", 1000),
        "DELIVERY_LOG_LENGTH": _int(env, "DELIVERY_LOG_LENGTH", 10000),
        # Proxy hops that append X-Forwarded-For; 0 unless the deployment says so (Heroku's router: 1).
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
        "MAX_STREAMS_PER_USER": _int(env, "MAX_STREAMS_PER_USER", 20),
        "DELIVERY_REPLAY_SECONDS": _int(env, "DELIVERY_REPLAY_SECONDS", 6 * 3600),
        "DELIVERY_BIG_PAYLOAD_BYTES": _int(env, "DELIVERY_BIG_PAYLOAD_BYTES", 8 * 1024),
        "AUTO_MIGRATE": True,  # the embedded SQLite default upgrades itself at start; Postgres never does
        "PASSWORD_HASH_COST": "default",  # "fast" for tests and benchmarks only
        "SSE_SEND_BUFFER": 64 * 1024,  # bytes the kernel may hold for one stream (it doubles this)
        "RELAY_INTERVAL": 1.0,  # seconds between the relay's sweeps of the outbox
        "OUTBOX_RETENTION_SECONDS": 86_400,  # published outbox rows are kept this long, then deleted
        "REDIS_IDLE_SECONDS": 60,  # how often idle Redis streams are trimmed
        "REDIS_SOCKET_TIMEOUT": 2.0,  # seconds: a request never hangs on an unreachable Redis
        "REDIS_POOL_SIZE": 16,
        # True: the relay publishes inside the request that commits (tests, scripts); None: as TESTING says.
        "DELIVERY_SYNC": None,
        "DELIVERY_STATS": False,  # /_delivery/stats, for tests and benchmarks only: never on in production
        # Sessions that end: a server-side row per sign-in, and expiring bearer tokens.
        "SESSION_DAYS": _int(env, "SESSION_DAYS", 30),
        "REMEMBER_COOKIE_DURATION": timedelta(days=_int(env, "SESSION_DAYS", 30)),
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "API_TOKEN_DAYS": _int(env, "API_TOKEN_DAYS", 90),
        # Rate limits (flask-limiter strings; several separated by ";"). Per address for sign-in and
        # sign-up, per account for sign-in, per user for the rest: bursts of 5 sends a second pass,
        # a script flooding a conversation does not.
        "AUTH_RATE_LIMIT": env.get("AUTH_RATE_LIMIT") or "20/minute",
        "RATE_LIMIT_SIGN_IN_ACCOUNT": env.get("RATE_LIMIT_SIGN_IN_ACCOUNT") or "10/minute;50/hour",
        "RATE_LIMIT_SENDS": env.get("RATE_LIMIT_SENDS") or "10/second;120/minute;1500/hour",
        "RATE_LIMIT_EDITS": env.get("RATE_LIMIT_EDITS") or "10/second;60/minute;600/hour",
        "RATE_LIMIT_UPLOADS": env.get("RATE_LIMIT_UPLOADS") or "20/minute;200/hour",
        "RATE_LIMIT_TYPING": env.get("RATE_LIMIT_TYPING") or "5/second;120/minute",
        # Groups larger than this show nobody typing (as Zulip: there it is noise, and a delivery per member).
        "TYPING_MAX_MEMBERS": _int(env, "TYPING_MAX_MEMBERS", 100),
        "RATE_LIMIT_PRESENCE": env.get("RATE_LIMIT_PRESENCE") or "5/second;60/minute",
        "RATE_LIMIT_GROUPS": env.get("RATE_LIMIT_GROUPS") or "10/minute;100/day",
        "RATE_LIMIT_MEMBERS": env.get("RATE_LIMIT_MEMBERS") or "60/minute;600/hour",
        "RATE_LIMIT_STREAMS": env.get("RATE_LIMIT_STREAMS") or "60/minute",
        "RATE_LIMIT_SEARCH": env.get("RATE_LIMIT_SEARCH") or "10/second;300/minute",
        # Supabase Auth access tokens are accepted as API credentials when SUPABASE_URL is set (chat.supabase_auth).
        "SUPABASE_URL": (env.get("SUPABASE_URL") or "").rstrip("/") or None,
        "SUPABASE_JWT_SECRET": env.get("SUPABASE_JWT_SECRET") or None,  # HS256 projects only
        "SUPABASE_ANON_KEY": env.get("SUPABASE_ANON_KEY") or None,  # public: for supabase-js front ends
        "SUPABASE_JWKS_COOLDOWN_SECONDS": 30,  # least time between two fetches of the key set for unknown kids
        "RATE_LIMIT_REACTIONS": env.get("RATE_LIMIT_REACTIONS") or "10/second;120/minute;1500/hour",
        # Attachment bytes: an S3-compatible store when S3_BUCKET is set (AWS, R2, MinIO, Supabase Storage),
        # else local disk under UPLOAD_FOLDER. Keys come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
        "S3_BUCKET": env.get("S3_BUCKET") or None,
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": env.get("S3_REGION") or None,
        # Production refuses several workers on local disk (each machine would hold its own uploads, lost at
        # a deploy); set to 1 on a single machine whose UPLOAD_FOLDER every worker shares and deploys keep.
        "UPLOAD_FOLDER_SHARED": env.get("UPLOAD_FOLDER_SHARED") == "1",
        # Downloads stream through the app; set to a number of
        # seconds to answer API downloads with a 302 to a presigned URL valid that long instead.
        "S3_SIGNED_URL_SECONDS": _int(env, "S3_SIGNED_URL_SECONDS", 0),
        "ATTACHMENT_UNATTACHED_SECONDS": _int(env, "ATTACHMENT_UNATTACHED_SECONDS", 24 * 3600),
        # Outgoing webhooks: each delivery waits at most WEBHOOK_TIMEOUT_SECONDS for an answer; a failure is
        # retried after BASE, 2×BASE, 4×BASE… seconds (at most MAX apart) for RETRY_FOR seconds, then dropped.
        "WEBHOOK_TIMEOUT_SECONDS": float(_int(env, "WEBHOOK_TIMEOUT_SECONDS", 10)),
        "WEBHOOK_RETRY_BASE_SECONDS": float(_int(env, "WEBHOOK_RETRY_BASE_SECONDS", 10)),
        "WEBHOOK_RETRY_MAX_SECONDS": float(_int(env, "WEBHOOK_RETRY_MAX_SECONDS", 3600)),
        "WEBHOOK_RETRY_FOR_SECONDS": _int(env, "WEBHOOK_RETRY_FOR_SECONDS", 2 * 86_400),
        "WEBHOOK_RETENTION_SECONDS": _int(env, "WEBHOOK_RETENTION_SECONDS", 7 * 86_400),  # then rows are pruned
        "WEBHOOK_SEND_IN_BACKGROUND": True,  # False: only `flask webhooks deliver` sends (tests, a worker)
        "RATE_LIMIT_INCOMING_WEBHOOKS": env.get("RATE_LIMIT_INCOMING_WEBHOOKS") or "5/second;60/minute;1000/hour",
        "RATE_LIMIT_INTEGRATIONS": env.get("RATE_LIMIT_INTEGRATIONS") or "20/minute;200/day",
        # Web Push (chat.webpush): VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY and VAPID_SUBJECT come from the
        # environment (made once in the instance folder in development; none set in production: push off).
        "VAPID_PRIVATE_KEY": None,
        "VAPID_PUBLIC_KEY": None,
        "VAPID_SUBJECT": None,
        # A push goes to people with no open event stream for this long (the stream shows them the message).
        "PUSH_OFFLINE_SECONDS": _int(env, "PUSH_OFFLINE_SECONDS", 30),
        "PUSH_TTL_SECONDS": _int(env, "PUSH_TTL_SECONDS", 24 * 3600),  # a push service keeps an undelivered push
        "PUSH_TIMEOUT_SECONDS": 10.0,
        "PUSH_MAX_ATTEMPTS": 5,  # then a push that keeps failing is given up
        "PUSH_RETRY_SECONDS": 30,  # the first retry's delay; each later one waits twice as long
        "PUSH_BATCH_SIZE": 100,  # pushes one sweep claims at a time
        "PUSH_RETENTION_SECONDS": 86_400,  # finished push work rows are kept this long
        "RATE_LIMIT_PUSH": env.get("RATE_LIMIT_PUSH") or "30/minute;300/day",
    }
    settings.update(overrides)
    from .webpush import resolve
    resolve(settings, env, instance_path, development)
    if settings["DELIVERY_SYNC"] is None:
        settings["DELIVERY_SYNC"] = bool(settings["TESTING"])
    return settings


def _development_secret(instance_path):
    """A per-checkout secret kept in the instance folder, so development sessions survive restarts."""
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        os.makedirs(instance_path, exist_ok=True)
        secret = secrets.token_hex(32)
        with open(path, "w") as f:
            f.write(secret)
        return secret
