"""The Server-Sent Events wire format, and the socket settings a long-lived stream needs."""
import _socket
import re
import socket

from .events import json_text

SEND_BUFFER = 64 * 1024  # bytes the kernel may hold for one stream (it doubles this)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line ends SSE knows (not str.splitlines' others)


def json_render(event):
    """The JSON API's renderer: ``event: <type>`` with the data as one line of JSON."""
    return [(event["type"], json_text(event["data"]))]


def format_event(pairs, event_id):
    """SSE text for ``(name, data)`` pairs; multi-line data becomes several ``data:`` lines and the
    ``id:`` goes with the last pair, so the client's cursor moves once the whole event has arrived."""
    out = []
    pairs = list(pairs)
    for i, (name, data) in enumerate(pairs):
        out.append(f"event: {_LINE_BREAK.sub(' ', str(name))}\n")
        if event_id and i == len(pairs) - 1:
            out.append(f"id: {event_id}\n")
        data = str(data)
        if "\n" in data or "\r" in data:
            out.extend(f"data: {line}\n" for line in _LINE_BREAK.split(data))
        else:  # JSON always, HTML mostly: one line, without scanning it twice
            out.append(f"data: {data}\n")
        out.append("\n")
    if not pairs and event_id:
        out.append(f"id: {event_id}\n\n")  # moves the client's cursor without dispatching an event
    return "".join(out)


def limit_send_buffer(sock, size):
    """Cap the kernel's buffer for this stream (autotuning lets it reach megabytes for a client that
    stopped reading); beyond it, the stream's bounded queue fills and the client is cut off."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    except OSError:
        pass


def cut_off(sock):
    """Cut a client off (it stopped reading): a write blocked on it fails (EPIPE) and the stream ends.

    The shutdown goes through a duplicate of the socket: gevent's own ``shutdown`` would cancel the
    blocked write with EBADF, which servers log as an error; a plain broken pipe they expect.
    """
    try:
        duplicate = socket.fromfd(sock.fileno(), sock.family, sock.type)
    except OSError:
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()


def watch_hangup(sock, on_hangup):
    """Run ``on_hangup()`` (in a greenlet of its own) once the client closes or resets the connection.

    A stream's client sends nothing after its request, so the socket turns readable only when it ends: the
    stream learns it at once instead of at its next write (up to a heartbeat later), and gives back its
    connection slot and presence. Under gevent only (else returns None); returns the watcher, which the
    stream must ``stop()`` before the connection goes back to the server. Data from the client (a pipelined
    request) stops the watching and is left for the server to read.
    """
    from .broker import _gevent_patched
    if not _gevent_patched():
        return None
    import gevent
    watcher = gevent.get_hub().loop.io(sock.fileno(), 1)  # 1: readable

    def readable():
        # The plain socket type over the same descriptor: gevent's would wait (it is the hub calling).
        raw = _socket.socket(sock.family, sock.type, 0, sock.fileno())
        try:
            data = raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""  # reset
        finally:
            raw.detach()
        watcher.stop()
        if not data:
            gevent.spawn(on_hangup)  # not in the hub's callback: it may take locks
    watcher.start(readable)
    return watcher
