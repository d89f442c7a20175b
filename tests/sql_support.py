"""Watching the SQL a block of code runs (tests that bound how many queries something takes)."""
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def statements_run(engine):
    """The statements ``engine`` runs inside the block, in order: a list filled as they run."""
    seen = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def starting_with(statements, word):
    """The statements of ``statements`` whose first word is ``word`` (any case)."""
    return [s for s in statements if s.lstrip().lower().startswith(word.lower())]
