"""The read model: rows to the objects of shared/API.md, for the JSON API, the pages and the fan-out alike.

Nothing here writes or checks access: callers open the transaction (as the viewer, so row-level security
applies on Postgres) and decide who may see what. ``presenters`` shapes single rows, ``conversations``
builds the conversation object (one unread count, one members loader, one shape) and ``contacts`` says
who may see whose presence.
"""
