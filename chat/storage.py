"""Where attachment bytes live: local disk (the embedded default) or an S3-compatible object store.

Both stores keep the same contract, checked by one test against each (tests/test_storage.py):
- ``save(key, stream, content_type=None)`` writes the whole stream under ``key`` (a generated name, never
  what the uploader called the file); a reader never sees a half-written object.
- ``open(key)`` returns a readable binary file object; ``FileNotFoundError`` when there is no such key.
- ``delete(key)`` removes it; deleting a missing key is not an error.
- ``signed_url(key, seconds, content_type, disposition)`` is a short-lived URL that serves the bytes without
  the app, or None when the store has none (local disk).
Only the app checks who may read: a signed URL is handed out after that check and expires soon after.
"""
import io
import os
import re
import shutil

from .config import ConfigError

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def _check_key(key):
    if not isinstance(key, str) or not KEY.fullmatch(key) or ".." in key:
        raise ValueError("bad storage key")
    return key


class LocalStorage:
    """Files under one folder. Only one machine can see them: production with several processes on
    several machines (dynos) needs the S3 store, see ``refuse_local_storage_in_production``."""

    name = "local"

    def __init__(self, root):
        self.root = root

    def _path(self, key):
        _check_key(key)
        return os.path.join(self.root, key[:2], key)

    def save(self, key, stream, content_type=None):
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".part", "wb") as out:
            shutil.copyfileobj(stream, out)
        os.replace(path + ".part", path)

    def open(self, key):
        return open(self._path(key), "rb")

    def delete(self, key):
        try:
            os.remove(self._path(key))
        except FileNotFoundError:
            pass

    def signed_url(self, key, seconds, content_type=None, disposition=None):
        return None


class S3Storage:
    """Objects in one bucket of an S3-compatible store (AWS S3, Cloudflare R2, MinIO, Supabase Storage's S3
    endpoint). Credentials come from boto3's usual sources (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``)."""

    name = "s3"

    def __init__(self, bucket, endpoint_url=None, region=None, client=None):
        self.bucket = bucket
        self._client = client
        self._endpoint_url, self._region = endpoint_url, region

    @property
    def client(self):
        """The boto3 client, made on first use: importing boto3 takes a while, and a worker that boots
        quickly answers its health check (and serves streams) before anyone uploads."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Path-style addressing works with every S3-compatible server (Supabase, MinIO need it).
            self._client = boto3.client(
                "s3", endpoint_url=self._endpoint_url, region_name=self._region,
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                              retries={"max_attempts": 3, "mode": "standard"}))
        return self._client

    def save(self, key, stream, content_type=None):
        extra = {"ContentType": content_type} if content_type else {}
        # One PUT: an object becomes visible whole or not at all.
        self.client.put_object(Bucket=self.bucket, Key=_check_key(key), Body=stream.read(), **extra)

    def open(self, key):
        from botocore.exceptions import ClientError

        try:
            got = self.client.get_object(Bucket=self.bucket, Key=_check_key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(key) from None
            raise
        # Attachments are at most MAX_UPLOAD_BYTES (10 MB by default): read them whole so the response can
        # send them with a length and ranges (audio seeking) like a local file.
        with got["Body"] as body:
            return io.BytesIO(body.read())

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=_check_key(key))

    def signed_url(self, key, seconds, content_type=None, disposition=None):
        params = {"Bucket": self.bucket, "Key": _check_key(key)}
        if content_type:
            params["ResponseContentType"] = content_type
        if disposition:
            params["ResponseContentDisposition"] = disposition
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=int(seconds))


def from_config(config):
    """The store ``config`` asks for: S3 when ``S3_BUCKET`` is set, else local disk."""
    if config.get("S3_BUCKET"):
        return S3Storage(config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
                         region=config.get("S3_REGION"))
    return LocalStorage(config["UPLOAD_FOLDER"])


def local_storage_problem(config, env=None):
    """A sentence explaining why local storage is wrong here, or None: in production with several worker
    processes (``CHAT_SERVER_WORKERS``, set by gunicorn.conf.py) uploads would be split between disks that
    are not shared between machines and are thrown away at every deploy."""
    env = os.environ if env is None else env
    if config.get("S3_BUCKET") or config.get("CHAT_ENV") != "production" or config.get("UPLOAD_FOLDER_SHARED"):
        return None
    workers = env.get("CHAT_SERVER_WORKERS", "1")
    if not workers.isdigit() or int(workers) <= 1:
        return None
    return (f"S3_BUCKET is not set, so attachments would be stored on this machine's local disk; with {workers} "
            f"worker processes in production, a file uploaded through one machine would be missing on the "
            f"others and lost at the next deploy. Set S3_BUCKET (and S3_ENDPOINT_URL, S3_REGION, "
            f"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), or run a single worker (WEB_CONCURRENCY=1); on one "
            f"machine whose disk every worker shares and deploys keep, set UPLOAD_FOLDER_SHARED=1.")


def refuse_local_storage_in_production(config, env=None):
    """Raise ``ConfigError`` with ``local_storage_problem``'s sentence, as the in-process broker refuses
    several workers (``chat.delivery.memory.refuse_multiple_workers``)."""
    problem = local_storage_problem(config, env)
    if problem:
        raise ConfigError(problem)
