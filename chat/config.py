"""Configuration, read from the environment once, in one place."""
import os
import secrets


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


def from_environment(env=None, instance_path="instance"):
    """Build the Flask config mapping from environment variables (see README, "Configuration")."""
    env = os.environ if env is None else env
    development = env.get("FLASK_DEBUG") == "1" or env.get("CHAT_ENV", "development") == "development"
    secret = env.get("SECRET_KEY")
    if not secret:
        if not development:
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random string, e.g. "
                "`export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')`."
            )
        secret = _development_secret(instance_path)
    database_url = env.get("DATABASE_URL") or "sqlite:///" + os.path.join(instance_path, "chat.sqlite3")
    return {
        "SECRET_KEY": secret,
        "CHAT_ENV": "development" if development else env.get("CHAT_ENV", "production"),
        "DATABASE_URL": normalize_database_url(database_url),
        "DATABASE_POOL_SIZE": _int(env, "DATABASE_POOL_SIZE", 10),
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
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 1 if not development else 0),
        "MAX_STREAMS_PER_USER": _int(env, "MAX_STREAMS_PER_USER", 20),
        "DELIVERY_REPLAY_SECONDS": _int(env, "DELIVERY_REPLAY_SECONDS", 6 * 3600),
        "DELIVERY_BIG_PAYLOAD_BYTES": _int(env, "DELIVERY_BIG_PAYLOAD_BYTES", 8 * 1024),
    }


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
