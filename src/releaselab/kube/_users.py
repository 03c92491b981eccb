"""Users on a real cluster: the workload model of ``releaselab.workload`` over real HTTP.

The same open-loop schedule and the same one-connection-per-request client
as :class:`~._prober.Prober`; each request is what the next user in turn
does (log in, ``GET /me``, write an order, read one back), sent with that
user's session cookie, and the answer — status, JSON body, ``Set-Cookie`` —
is what the user learns from.  When the traffic stops, every order the users
were told was written is read back once more (the audit), one request at a
time, retried up to ``AUDIT_TRIES`` times when it cannot reach the app.

All users share the host's one address: a Service with
``sessionAffinity: ClientIP`` sends all of them to the same pod (the
simulator gives each user an address of its own, as real users have).
"""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie
from typing import Optional

from ..timeline import Timeline
from ..workload import Call, Response, Users
from ._prober import Prober

AUDIT_TRIES = 3
COOKIE = "session"


def session_cookie(headers: dict) -> Optional[str]:
    """The ``session`` cookie a ``Set-Cookie`` header sets, or None."""
    header = headers.get("set-cookie")
    if not header:
        return None
    try:
        jar = SimpleCookie(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


class UserProber(Prober):
    """``users`` users doing ``workload`` at ``rps`` requests per second in all."""

    def __init__(self, host: str, port: int, *, users: int, workload: str, timeline: Timeline,
                 **kwargs) -> None:
        super().__init__(host, port, **kwargs)
        self.users = Users(users, workload, self.target, timeline)

    def stop(self, join_timeout: Optional[float] = None) -> None:
        # The audit reads every order back after the last request: give it time.
        pending = len(self.users.to_audit())
        super().stop(join_timeout if join_timeout is not None
                     else self.timeout_s * (2 + AUDIT_TRIES * pending) + 2.0)

    def _request_for(self, call: Call) -> bytes:
        body = json.dumps(call.body).encode() if call.body is not None else b""
        lines = [f"{call.method} {call.path} HTTP/1.1", f"Host: {self.host_header}",
                 "User-Agent: releaselab-prober", "Connection: close"]
        if call.cookie:
            lines.append(f"Cookie: {COOKIE}={call.cookie}")
        if call.body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body

    async def _answer(self, call: Call) -> Response:
        import time

        began = time.perf_counter()
        status, headers, raw, error = await self._fetch(round(self.clock(), 6),
                                                        self._request_for(call))
        try:
            body = json.loads(raw.decode("utf-8")) if status is not None and raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        body = body if isinstance(body, dict) else None
        version = (body or {}).get("version") or headers.get("x-version")
        return Response(status, error, body, session_cookie(headers), (body or {}).get("pod"),
                        version, round((time.perf_counter() - began) * 1000.0, 3))

    async def _one(self) -> None:
        t = self.clock()
        call = self.users.next(t)
        answer = await self._answer(call)
        self.sink(self.users.record(call, round(t, 6), answer))

    async def _main(self) -> None:
        await super()._main()
        for order in self.users.to_audit():
            for _ in range(AUDIT_TRIES):
                answer = await self._answer(Users.audit_call(order))
                if answer.status is not None:
                    break
            Users.judge(order, answer)
