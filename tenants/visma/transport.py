"""How bytes reach Visma: one pooled session per process, no redirects, an overall deadline per call, and a record of
whether any byte of the request left this machine.

urllib3 retries only what provably never reached the server: a failed connect (refused, name not found, connect
timeout), for any method. Read errors and "other" errors (a TLS error while reading an answer, for one) are never
retried at this level, so a POST goes out at most once per call; the caller decides what happens next.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import socket
import threading

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

USER_AGENT = "visma-order-portal/0.2"


class Call:
    """One call's transport facts: `sent` (a byte of the request left), `expired` (its deadline closed it)."""

    def __init__(self, deadline: float):
        self.sent = False
        self.expired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(deadline, 0.0), self._expire)
        self._timer.daemon = True
        self._token: contextvars.Token | None = None

    def __enter__(self) -> Call:
        self._token = _current_call.set(self)
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:
            self._socket = None
        _current_call.reset(self._token)

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._socket = sock
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        """Past the deadline: shut the socket, which ends a slow-drip answer however often its bytes arrive."""
        with self._lock:
            self.expired = True
            if self._socket is not None:
                _shut(self._socket)


_current_call: contextvars.ContextVar[Call | None] = contextvars.ContextVar("visma_call", default=None)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the raw socket, also under TLS: another thread is reading it
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _TrackedMixin:
    """http.client writes every piece of a request through `send`: the first one marks the call as sent."""

    def send(self, data) -> None:
        if self.sock is None:
            self.connect()
        call = _current_call.get()
        if call is not None:
            call.attach(self.sock)
            call.sent = True
        super().send(data)


class _HTTPConnection(_TrackedMixin, HTTPConnection):
    pass


class _HTTPSConnection(_TrackedMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _retry() -> Retry:
    return Retry(
        total=3,
        connect=3,  # nothing was sent: safe for every method
        read=2,  # a lost answer: only for GET (allowed_methods)
        other=0,  # e.g. a TLS error after the request went out: never, whatever the method
        status=2,
        redirect=0,
        backoff_factor=0.25,
        status_forcelist=(502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=False,
        raise_on_status=False,
        raise_on_redirect=False,
    )


_sessions: dict[int, requests.Session] = {}


def session() -> requests.Session:
    """One session per process: django-q2 forks its workers, and a forked session would share sockets."""
    pid = os.getpid()
    if pid not in _sessions:
        new = requests.Session()
        new.headers["User-Agent"] = USER_AGENT
        new.trust_env = False  # no proxy or netrc from the environment may see our secret or tokens
        adapter = _Adapter(max_retries=_retry())
        new.mount("https://", adapter)
        new.mount("http://", adapter)
        _sessions[pid] = new
    return _sessions[pid]


def send(method: str, url: str, *, deadline: float, timeout: tuple[float, float], **kwargs) -> tuple[Call, object]:
    """One call, never following a redirect. Returns (call, response) or raises requests' exception with
    `exc.visma_call` set, so the caller can tell "never sent" and "deadline" apart from a lost answer."""
    read_timeout = max(0.1, min(timeout[1], deadline))
    with Call(deadline) as call:
        try:
            response = session().request(
                method,
                url,
                timeout=(timeout[0], read_timeout),
                allow_redirects=False,
                verify=settings.VISMA_CA_BUNDLE or True,
                **kwargs,
            )
        except requests.RequestException as exc:
            exc.visma_call = call
            raise
    return call, response
