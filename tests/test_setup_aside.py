"""Stream set-ups run aside (``chat.delivery.setup_aside``): same responses, a lighter greenlet left holding them."""
import gc
import os

import gevent
import gevent.event
import pytest

from chat.delivery.setup_aside import SetUpAside


def _environ(path="/events", method="GET"):
    return {"REQUEST_METHOD": method, "PATH_INFO": path}


def _start_response(status, headers):
    pass


def test_the_set_up_runs_in_a_greenlet_of_its_own_and_the_rest_in_the_callers():
    seen, closed = [], []

    def app(environ, start_response):
        seen.append(("app", gevent.getcurrent()))

        def body():
            try:
                seen.append(("first", gevent.getcurrent()))
                yield b"retry: 1000\n\n"
                seen.append(("second", gevent.getcurrent()))
                yield b": ping\n\n"
            finally:
                closed.append(True)
        return body()

    def serve():  # as a gevent server's greenlet for the connection would
        response = SetUpAside(app, {"/events"})(_environ(), _start_response)
        try:
            return list(response)
        finally:
            response.close()

    server = gevent.spawn(serve)
    assert server.get(timeout=5) == [b"retry: 1000\n\n", b": ping\n\n"]
    (_, dispatched), (_, first), (_, second) = seen
    assert dispatched is first and first is not server  # the set-up: aside
    assert second is server                              # the rest: where the server iterates
    assert closed == [True]


@pytest.mark.parametrize("environ", [_environ("/other"), _environ(method="POST"), _environ(method="HEAD")])
def test_other_requests_are_called_as_they_are(environ):
    where = []

    def app(environ, start_response):
        where.append(gevent.getcurrent())
        return [b"ok"]

    def serve():
        return SetUpAside(app, {"/events"})(environ, _start_response)

    server = gevent.spawn(serve)
    assert server.get(timeout=5) == [b"ok"] and where == [server]


def test_bodies_come_through_whole_and_closing_reaches_them():
    class Body(list):
        closed = False

        def close(self):
            self.closed = True

    for body in (Body([b"a", b"b", b"c"]), Body([b"only"]), Body()):
        wsgi = SetUpAside(lambda environ, start_response, body=body: body, {"/events"})
        response = gevent.spawn(wsgi, _environ(), _start_response).get()
        assert list(response) == list(body)
        response.close()
        assert body.closed


def test_a_set_up_that_fails_closes_its_body_and_the_error_reaches_the_server():
    closed = []

    def app(environ, start_response):
        def body():
            try:
                raise RuntimeError("set-up failed")
                yield b"never"
            finally:
                closed.append(True)
        return body()

    server = gevent.spawn(SetUpAside(app, {"/events"}), _environ(), _start_response)
    with pytest.raises(RuntimeError, match="set-up failed"):
        server.get(timeout=5)
    assert closed == [True]


def test_a_dispatch_that_fails_reaches_the_server():
    def app(environ, start_response):
        raise LookupError("dispatch failed")

    server = gevent.spawn(SetUpAside(app, {"/events"}), _environ(), _start_response)
    with pytest.raises(LookupError, match="dispatch failed"):
        server.get(timeout=5)


def _deep(depth):
    a = b = c = d = e = f = g = h = i = j = k = m = n = o = p = q = r = s = t = u = depth  # noqa: F841 (a large frame)
    return _deep(depth - 1) if depth else 0


def _resident():
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _held_streams(aside, count=3000):
    """Bytes resident per greenlet left holding a stream whose set-up went 80 frames deep."""
    def app(environ, start_response):
        _deep(80)  # dispatch and sign-in
        return [b"retry: 1000\n\n"]

    wsgi, forever = SetUpAside(app, {"/events"}, enabled=aside), gevent.event.Event()

    def serve():
        for _ in wsgi(_environ(), _start_response):
            pass
        forever.wait()  # the stream idles

    gc.collect()
    before = _resident()
    servers = [gevent.spawn(serve) for _ in range(count)]
    gevent.sleep(0.2)
    held = (_resident() - before) / count
    assert all(not s.dead for s in servers)
    gevent.killall(servers)
    return held


def test_a_stream_set_up_aside_holds_less_memory_while_it_idles():
    inline, aside = _held_streams(False), _held_streams(True)
    assert aside < 0.75 * inline, (aside, inline)  # 2.5-4 KB against 16-20 KB here


def test_the_app_sets_up_both_stream_routes_aside(app):
    assert isinstance(app.wsgi_app, SetUpAside)  # by create_app, once every route is known
    assert app.wsgi_app.paths == {"/events", "/api/v1/events"}
    assert app.wsgi_app.enabled is False  # the test client is not under gevent: called as it is
