"""The demo app's state endpoints, modelled: /login, /me, /orders (cluster/app/README.md).

The same rows as the real ``cluster/app/state.py``: ``SESSION_STORE`` keeps
sessions in the process (``memory``), in a signed cookie (``token``) or in a
Redis server; ``DATABASE_URL`` names the PostgreSQL the orders live in,
``SCHEMA`` which of its columns this version's code writes and reads, and
``MIGRATE`` the schema version the process brings the database up to when
it starts.  Every answer is what the real server sends: (status, JSON body,
session cookie).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional
from urllib.parse import urlsplit

from ..timeline import Migration
from .data import POSTGRESQL, REDIS
from .database import COLUMNS, LATEST, SQLError

if TYPE_CHECKING:
    from .data import DataServers

SCHEMAS = tuple(COLUMNS)
SESSION_TTL_S = 3600.0
USER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SCHEMA_SQLSTATES = ("42703", "42P01", "23502")
DEFAULTS = {"DATABASE_URL": "", "SCHEMA": "name", "MIGRATE": "0", "SESSION_STORE": "memory",
            "SESSION_SECRET": ""}


class StateError(ValueError):
    """A state variable the real server would refuse at start (exit 2)."""


class StartFailed(Exception):
    """MIGRATE could not run: the real server logs this line and exits 1."""


@dataclass(frozen=True)
class StateConfig:
    database_url: str = ""
    schema: str = "name"
    migrate: int = 0
    session_store: str = "memory"
    session_secret: str = ""

    @classmethod
    def from_env(cls, env: dict) -> "StateConfig":
        merged = {**DEFAULTS, **env}
        url = merged["DATABASE_URL"]
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
                raise StateError(f"DATABASE_URL={url!r}: expected a postgresql://user:password"
                                 "@host:port/database URL, or nothing")
        if merged["SCHEMA"] not in SCHEMAS:
            raise StateError(f"SCHEMA={merged['SCHEMA']!r}: expected {', '.join(SCHEMAS)}")
        try:
            migrate = int(merged["MIGRATE"])
        except ValueError:
            migrate = -1
        if not 0 <= migrate <= LATEST:
            raise StateError(f"MIGRATE={merged['MIGRATE']!r}: expected a schema version from 0 "
                             f"to {LATEST}")
        store = merged["SESSION_STORE"]
        if store not in ("memory", "token"):
            parts = urlsplit(store)
            if parts.scheme not in ("redis", "rediss") or not parts.hostname:
                raise StateError(f"SESSION_STORE={store!r}: expected memory, token or a "
                                 "redis://host:port/db URL")
        if store == "token" and not merged["SESSION_SECRET"]:
            raise StateError("SESSION_SECRET='': expected a non-empty secret with "
                             "SESSION_STORE=token")
        return cls(url, merged["SCHEMA"], migrate, store, merged["SESSION_SECRET"])


Answer = tuple  # (status, body dict, session cookie value or None)


class AppState:
    """The state of one app process: its in-memory sessions and its way to the data servers."""

    def __init__(self, config: StateConfig, data: Optional["DataServers"], pod: str):
        self.config = config
        self.data = data
        self.pod = pod
        self.sessions: dict[str, str] = {}      # SESSION_STORE=memory
        self._issued = 0

    def _now(self) -> float:
        return self.data.c.kernel.now if self.data is not None else 0.0

    # -- start-up --------------------------------------------------------------------------
    def start(self) -> list:
        """MIGRATE=N at process start; StartFailed if the database cannot be migrated."""
        cfg = self.config
        if not cfg.database_url or cfg.migrate == 0:
            return []
        server, error = self._reach(cfg.database_url, POSTGRESQL)
        if server is None:
            raise StartFailed(f"cannot start: MIGRATE={cfg.migrate}: cannot reach the database "
                              f"({error})")
        database = self.data.database(server)
        before = database.version
        done = database.migrate(cfg.migrate)
        if done:
            c = self.data.c
            record = c.timeline.pod(self.pod)
            c.timeline.migrations.append(Migration(
                round(self._now(), 6), self.pod, record.version if record else None,
                server.name, before, cfg.migrate))
        return done

    def _reach(self, url: str, kind: str):
        if self.data is None:
            return None, "no data servers in this cluster"
        return self.data.reach(url, kind)

    # -- sessions ------------------------------------------------------------------------------
    def login(self, user) -> Answer:
        if not isinstance(user, str) or not USER.match(user):
            return 400, {"error": "bad_request"}, None
        store = self.config.session_store
        if store == "token":
            token = self._sign(user)
        elif store == "memory":
            self._issued += 1
            token = f"{self.pod}-{self._issued}"
            self.sessions[token] = user
        else:
            server, error = self._reach(store, REDIS)
            if server is None:
                return 503, {"error": "store_unavailable", "detail": error}, None
            server.counter += 1
            token = f"{server.name}-{server.counter}"
            self.data.sessions(server)[token] = (user, self._now() + SESSION_TTL_S)
        return 200, {"user": user}, token

    def me(self, token: Optional[str]) -> Answer:
        user = None
        store = self.config.session_store
        if token:
            if store == "memory":
                user = self.sessions.get(token)
            elif store == "token":
                user = self._verify(token)
            else:
                server, error = self._reach(store, REDIS)
                if server is None:
                    return 503, {"error": "store_unavailable", "detail": error}, None
                held = self.data.sessions(server).get(token)
                if held is not None and held[1] > self._now():
                    user = held[0]
        if user is None:
            return 401, {"error": "unauthenticated"}, None
        return 200, {"user": user}, None

    def _sign(self, user: str) -> str:
        # Not the real HMAC: a token this model can check the same way — valid
        # exactly where the pod's SESSION_SECRET equals the issuer's.
        digest = hashlib.sha256(f"{self.config.session_secret}\0{user}".encode()).hexdigest()
        return f"{user}.{digest[:32]}"

    def _verify(self, token: str) -> Optional[str]:
        user = token.rsplit(".", 1)[0]
        return user if self._sign(user) == token else None

    # -- orders ----------------------------------------------------------------------------------
    def _database(self):
        server, error = self._reach(self.config.database_url, POSTGRESQL)
        if server is None:
            return None, (503, {"error": "db_unavailable", "detail": error}, None)
        return self.data.database(server), None

    def write(self, customer: str, item: str) -> Answer:
        database, failure = self._database()
        if failure:
            return failure
        try:
            order_id = database.write_order(self.config.schema, customer, item)
        except SQLError as exc:
            return 500, _sql_error(exc), None
        return 201, {"id": order_id, "customer": customer, "item": item}, None

    def read(self, order_id: int) -> Answer:
        database, failure = self._database()
        if failure:
            return failure
        try:
            found = database.read_order(self.config.schema, order_id)
        except SQLError as exc:
            return 500, _sql_error(exc), None
        if found is None:
            return 404, {"error": "not_found", "id": order_id}, None
        return 200, found, None


def _sql_error(exc: SQLError) -> dict:
    kind = "schema" if exc.sqlstate in SCHEMA_SQLSTATES else "database_error"
    return {"error": kind, "detail": exc.message}
