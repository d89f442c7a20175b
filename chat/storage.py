"""Where attachment bytes live. Local disk by default; another store (Supabase Storage, S3) can
implement the same three methods."""
import os
import shutil


class LocalStorage:
    """Files under one folder, named by generated keys (never by what the uploader called them)."""

    def __init__(self, root):
        self.root = root

    def _path(self, key):
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError("bad storage key")
        return os.path.join(self.root, key[:2], key)

    def save(self, key, stream):
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
