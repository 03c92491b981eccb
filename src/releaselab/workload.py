"""Users, not just requests: clients that log in, keep a cookie, write orders and read them back.

``lab.traffic(rps, users=N, workload=...)`` sends the same open-loop stream of
requests as plain traffic, but each request belongs to one of N users, taken
in turn, and each user remembers what a browser would: its session cookie
(a user = a cookie jar) and the orders it was told were written.  That is
what turns two release costs the stateless labs cannot see into numbers the
Timeline keeps:

* **users logged out** — a user who had logged in asks ``GET /me`` and gets
  401: its session is gone (``logouts``; the request's cause ``logged_out``);
* **data lost** — an order answered 201 that, read back later, is missing or
  not what was written (``orders``; a wrong read's cause ``wrong_data``).

What a user does next (``workload``):

``sessions``  log in if it has no cookie, else ``GET /me``
``orders``    write an order (``POST /orders``), or read back its oldest order written at
              least ``READ_AFTER_S`` ago and not yet read (``GET /orders/ID``), in turn
``shop``      both: log in if needed, then me, write, read in turn

Both backends use this one model — the simulator with answers from its app
model, the kind backend's prober with real HTTP — so the same workload means
the same thing on both.  It knows no clock: every call is given its time.

When the traffic stops, every order written during it is read back once
more (the **audit**): ``intact``, ``lost`` or ``unverified`` (the read did
not reach the app at all).  A lost order is data lost for good, whatever
the run's reads saw on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .timeline import (DB_UNAVAILABLE, LOGGED_OUT, SCHEMA, STORE_UNAVAILABLE, WRONG_DATA, Logout,
                       Order, Request, Timeline)

WORKLOADS = ("sessions", "orders", "shop")
READ_AFTER_S = 2.0          # an order is read back no sooner than this after it was written
MAX_USERS = 10_000
# What the app's JSON "error" says → the Timeline's cause (cluster/app/README.md).
APP_ERRORS = {"schema": SCHEMA, "db_unavailable": DB_UNAVAILABLE,
              "store_unavailable": STORE_UNAVAILABLE}
# Customers the orders are for: two words each, so a split into first and
# last name is visible; a third word in some, so "the rest" is too.
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia",
         "Tim", "Margaret", "Dennis", "Leslie", "Hedy", "John")
LAST = ("Lovelace", "Brewster Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen",
        "Thompson", "Perlman", "Berners-Lee", "Hamilton", "Ritchie", "Lamport", "Lamarr",
        "von Neumann")
ITEMS = ("tea", "coffee", "keyboard", "notebook", "lamp", "mug", "chair", "cable")


@dataclass(frozen=True)
class Call:
    """One request a user is about to send."""

    user: str
    op: str                       # login | me | write | read
    method: str
    path: str
    body: Optional[dict] = None
    cookie: Optional[str] = None  # the session cookie's value it sends, if any
    order: Optional[Order] = None  # the order a read is for


@dataclass
class Response:
    """What came back, as far as a user can tell (either backend fills it)."""

    status: Optional[int]                 # None: no HTTP answer (see ``error``)
    error: Optional[str] = None           # transport error kind (refused, reset, ...)
    body: Optional[dict] = None           # the JSON answer
    cookie: Optional[str] = None          # a new session cookie value (Set-Cookie)
    pod: Optional[str] = None
    version: Optional[str] = None
    latency_ms: float = 0.0


@dataclass
class User:
    name: str
    cookie: Optional[str] = None
    logged_in_at: Optional[float] = None
    turn: int = 0
    unread: list = field(default_factory=list)      # orders not read back yet, oldest first


class Users:
    """``count`` users doing ``workload`` against ``target``; results go to ``timeline``."""

    def __init__(self, count: int, workload: str, target: str, timeline: Timeline):
        self.users = [User(f"u{i:03d}") for i in range(count)]
        self.workload = workload
        self.target = target
        self.timeline = timeline
        self.sent = 0
        self._written = 0
        self._undo: dict[int, tuple] = {}      # request index → how to take its effect back
        self._orders: list[Order] = []          # this traffic's orders, for the audit

    # -- choosing ------------------------------------------------------------------------
    def next(self, t: float) -> Call:
        """The next request: the next user in turn, and what it does now."""
        user = self.users[self.sent % len(self.users)]
        self.sent += 1
        if self.workload in ("sessions", "shop") and user.cookie is None:
            return Call(user.name, "login", "POST", "/login", {"user": user.name})
        if self.workload == "sessions":
            return self._me(user)
        cycle = ("write", "read") if self.workload == "orders" else ("me", "write", "read")
        op = cycle[user.turn % len(cycle)]
        user.turn += 1
        if op == "me":
            return self._me(user)
        due = next((o for o in user.unread if o.t <= t - READ_AFTER_S), None)
        if op == "read" and due is not None:
            return Call(user.name, "read", "GET", f"/orders/{due.id}", cookie=user.cookie,
                        order=due)
        self._written += 1
        n = self._written
        customer = f"{FIRST[n % len(FIRST)]} {LAST[(7 * n + n // len(FIRST)) % len(LAST)]}"
        return Call(user.name, "write", "POST", "/orders",
                    {"customer": customer, "item": ITEMS[n % len(ITEMS)]}, cookie=user.cookie)

    @staticmethod
    def _me(user: User) -> Call:
        return Call(user.name, "me", "GET", "/me", cookie=user.cookie)

    def user(self, name: str) -> User:
        return self.users[int(name[1:])]

    # -- learning from the answer ------------------------------------------------------
    def record(self, call: Call, t: float, answer: Response, index: Optional[int] = None) -> Request:
        """Update the user from ``answer``; returns the Request the Timeline keeps.

        ``index``: where the Request will be stored, so a request cut later
        (:meth:`cancel`) can take its effect back.
        """
        user = self.user(call.user)
        status, error, body = answer.status, answer.error, answer.body or {}
        if status is not None and error is None:
            kind = body.get("error")
            if kind in APP_ERRORS:
                error = APP_ERRORS[kind]
            elif call.op == "login" and status == 200 and answer.cookie:
                self._undo_later(index, ("login", user, user.cookie, user.logged_in_at))
                user.cookie, user.logged_in_at = answer.cookie, t
            elif call.op == "me" and status == 401 and call.cookie is not None:
                error = LOGGED_OUT
                if user.cookie == call.cookie:      # not already noticed by an earlier request
                    self.timeline.logouts.append(Logout(t, self.target, user.name, answer.pod,
                                                        answer.version, user.logged_in_at))
                    user.cookie = user.logged_in_at = None
            elif call.op == "write" and status == 201 and "id" in body:
                order = Order(t, self.target, user.name, int(body["id"]), call.body["customer"],
                              call.body["item"], answer.version, answer.pod)
                self.timeline.orders.append(order)
                self._orders.append(order)
                user.unread.append(order)
                self._undo_later(index, ("write", user, order))
            elif call.op == "read":
                order = call.order
                if order in user.unread:
                    user.unread.remove(order)
                intact = status == 200 and self._matches(order, body)
                if status in (200, 404):
                    order.read_ok = intact
                    if not intact:
                        error = WRONG_DATA
        return Request(t, self.target, answer.pod, answer.version, status, error,
                       answer.latency_ms, call.op)

    @staticmethod
    def _matches(order: Order, body: dict) -> bool:
        return body.get("customer") == order.customer and body.get("item") == order.item

    def _undo_later(self, index: Optional[int], effect: tuple) -> None:
        if index is not None:
            self._undo[index] = effect

    def cancel(self, index: int) -> None:
        """The request stored at ``index`` was cut in flight: the user never saw its answer."""
        effect = self._undo.pop(index, None)
        if effect is None:
            return
        if effect[0] == "login":
            _, user, cookie, since = effect
            user.cookie, user.logged_in_at = cookie, since
        else:
            _, user, order = effect
            for rows in (self.timeline.orders, self._orders, user.unread):
                if order in rows:
                    rows.remove(order)

    # -- the audit -------------------------------------------------------------------------
    def to_audit(self) -> list[Order]:
        """This traffic's orders not audited yet, oldest first."""
        return [o for o in self._orders if o.audit is None]

    @classmethod
    def audit_call(cls, order: Order) -> Call:
        return Call(order.user, "read", "GET", f"/orders/{order.id}", order=order)

    @classmethod
    def judge(cls, order: Order, answer: Response) -> None:
        """Set ``order.audit`` and ``why`` from the audit's read."""
        body = answer.body or {}
        if answer.status is None:
            order.audit, order.why = "unverified", f"the read failed: {answer.error}"
        elif answer.status == 200 and cls._matches(order, body):
            order.audit, order.why = "intact", None
        elif answer.status == 200:
            order.audit = "lost"
            got = body.get("customer")
            order.why = (f"read back by {answer.version} "
                         + ("with no customer name" if got is None else f"as {got!r}")
                         + ("" if body.get("item") == order.item else " and another item"))
        elif answer.status == 404:
            order.audit, order.why = "lost", f"missing (404 from {answer.version})"
        elif body.get("error") == "schema":
            order.audit = "lost"
            order.why = f"unreadable by {answer.version}: {body.get('detail')}"
        else:
            order.audit = "unverified"
            order.why = f"the read answered {answer.status} {body.get('error') or ''}".strip()


def check_users(users, workload) -> None:
    """Raise UsageError unless ``users`` and ``workload`` make a user traffic."""
    from .errors import UsageError

    if isinstance(users, bool) or not isinstance(users, int) or not 0 <= users <= MAX_USERS:
        raise UsageError(f"users={users!r}: a whole number of users from 0 (plain GET / "
                         f"traffic) to {MAX_USERS}")
    if workload not in WORKLOADS:
        raise UsageError(f"workload={workload!r}: choose {', '.join(map(repr, WORKLOADS))}")
