"""The action layer: the only code that writes.

HTML views, the JSON API, CLI commands and tests all call these functions. Each one checks access,
validates input, writes in one transaction and records its events through ``chat.events`` (the outbox,
published only after the commit): the one door to ``chat.delivery``, which this package never imports.
Functions take the acting user's id first and return plain dicts shaped like the
objects of shared/API.md; they raise ``chat.errors.ActionError`` subclasses to refuse.
"""
