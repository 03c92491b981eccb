"""The demo app's state: orders in PostgreSQL, login sessions in memory, a token or Redis.

The rows DATABASE_URL, SCHEMA, MIGRATE, SESSION_STORE and SESSION_SECRET of
README.md; the simulator's model (``releaselab/sim/database.py`` and
``sessions.py``) obeys the same table, and the tests hold the two equal
against a real PostgreSQL and a real Redis.

Standard library at import, and nothing is created then: psycopg is imported
only when DATABASE_URL is set, redis only when SESSION_STORE is a Redis URL,
and no connection is opened until a request (or MIGRATE at start) needs one.
Connections to the database are kept for reuse (at most ``POOL_SIZE`` idle):
a new one costs a TCP handshake and a SCRAM authentication, tens of
milliseconds of CPU on a busy node.  A kept connection that the server has
closed (a restart) empties the pool and the request is tried once more on a
new one, so a database that comes back is used again at once.  Statements
are never prepared (``prepare_threshold=None``): a prepared plan outlives an
ALTER TABLE and would fail with "cached plan must not change result type"
instead of the schema error the code meets on a fresh connection.

A dependency that is down costs only its own endpoints: they answer 503
(``db_unavailable`` / ``store_unavailable``), one log line says so when it
goes and one when it is back, and everything else keeps serving.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections import namedtuple
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

SCHEMAS = ("name", "both", "split")
STORES = ("memory", "token")
COOKIE = "session"
SESSION_TTL_S = 3600          # Redis keys expire after an hour without a login
POOL_SIZE = 4                 # idle database connections kept per process
USER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_BODY = 4096

# The columns each SCHEMA writes and reads (the same set for both).
COLUMNS = {
    "name": ("customer_name", "item"),
    "both": ("customer_name", "first_name", "last_name", "item"),
    "split": ("first_name", "last_name", "item"),
}
# SQLSTATEs that mean "this code and this schema do not fit" (PostgreSQL's
# errcodes): undefined_column, undefined_table, not_null_violation.
SCHEMA_SQLSTATES = {"42703": "undefined_column", "42P01": "undefined_table",
                    "23502": "not_null_violation"}

StateConfig = namedtuple("StateConfig", "database_url schema migrate session_store session_secret")


class StateConfigError(Exception):
    """A state variable that cannot be parsed: (name, value, what it accepts)."""

    def __init__(self, name, value, accepts):
        super().__init__(name, value, accepts)
        self.name, self.value, self.accepts = name, value, accepts


class StartError(Exception):
    """The process cannot start (MIGRATE failed): one line, then exit 1."""


def parse(env, latest):
    """The state rows of the README table from a mapping; ``latest``: the newest migration."""
    url = env.get("DATABASE_URL", "")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
            raise StateConfigError("DATABASE_URL", url, "a postgresql://user:password@host:port"
                                   "/database URL, or nothing (no database)")
    schema = env.get("SCHEMA", "name")
    if schema not in SCHEMAS:
        raise StateConfigError("SCHEMA", schema, " | ".join(SCHEMAS))
    raw = env.get("MIGRATE", "0")
    try:
        migrate = int(raw)
    except ValueError:
        migrate = -1
    if not 0 <= migrate <= latest:
        raise StateConfigError("MIGRATE", raw, f"a schema version from 0 (run nothing) to {latest}")
    store = env.get("SESSION_STORE", "memory")
    if store not in STORES:
        parts = urlsplit(store)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise StateConfigError("SESSION_STORE", store, "memory | token | a redis://host:port"
                                   "/db URL")
    secret = env.get("SESSION_SECRET", "")
    if store == "token" and not secret:
        raise StateConfigError("SESSION_SECRET", secret, "a non-empty string when "
                               "SESSION_STORE=token (every pod must share it)")
    return StateConfig(url, schema, migrate, store, secret)


def split_name(customer):
    """'Grace Brewster Hopper' -> ('Grace', 'Brewster Hopper'): what 0003's SQL does."""
    first, _, rest = customer.partition(" ")
    return first, rest


def join_name(first, last):
    return first if not last else f"{first} {last}"


def customer_of(schema, row):
    """The customer an order's row shows to code of ``schema`` (None: it has none)."""
    if schema == "name":
        return row["customer_name"]
    if row["first_name"] is not None:
        return join_name(row["first_name"], row["last_name"])
    return row["customer_name"] if schema == "both" else None


def write_values(schema, customer, item):
    """The row ``schema`` code inserts for an order."""
    first, last = split_name(customer)
    values = {"customer_name": customer, "first_name": first, "last_name": last, "item": item}
    return {column: values[column] for column in COLUMNS[schema]}


def _reason(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Answer(namedtuple("Answer", "status body headers")):
    """What an endpoint answers: HTTP status, a JSON-able dict, extra headers."""


def answer(status, body, headers=()):
    return Answer(status, body, tuple(headers))


class State:
    """The state behind the endpoints of one server process."""

    def __init__(self, cfg, log):
        self.cfg = cfg
        self.log = log                       # log(message): one line on stderr
        self.lock = threading.Lock()
        self.sessions = {}                   # SESSION_STORE=memory: token -> user
        self._redis = None
        self._idle = []                      # database connections kept for reuse
        self._down = {}                      # dependency -> True while it fails

    # -- dependencies going and coming back: one line each way ------------------------
    def _failed(self, what, endpoints, exc):
        with self.lock:
            first = not self._down.get(what)
            self._down[what] = True
        if first:
            self.log(f"{what} unreachable ({_reason(exc)}): answering 503 on {endpoints} "
                     "until it is back")

    def _worked(self, what):
        with self.lock:
            back = self._down.pop(what, False)
        if back:
            self.log(f"{what} reachable again")

    # -- start-up ----------------------------------------------------------------------
    def migrate_at_start(self):
        """MIGRATE=N: bring the database up to N before listening; StartError if impossible."""
        cfg = self.cfg
        if not cfg.database_url or cfg.migrate == 0:
            return
        import psycopg

        import migrate

        try:
            with psycopg.connect(cfg.database_url, connect_timeout=5, autocommit=True) as conn:
                before = migrate.current(conn)
                done = migrate.migrate(conn, cfg.migrate)
        except migrate.MigrationError as exc:
            raise StartError(f"MIGRATE={cfg.migrate}: {exc}") from None
        except psycopg.Error as exc:
            raise StartError(f"MIGRATE={cfg.migrate}: cannot reach the database "
                             f"({_reason(exc)})") from None
        if done:
            self.log(f"migrated the database from schema version {before} to {cfg.migrate}: "
                     f"{migrate.describe(done)}")
        else:
            self.log(f"database at schema version {before}: MIGRATE={cfg.migrate} has nothing "
                     "to do")

    # -- routing ----------------------------------------------------------------------------
    def handle(self, method, path, headers, body):
        """The Answer for a state endpoint, or None if ``path`` is not one."""
        if path == "/login":
            return self._login(body) if method == "POST" else answer(405, {"error": "method"})
        if path == "/me":
            return self._me(headers) if method == "GET" else answer(405, {"error": "method"})
        if not self.cfg.database_url:
            return None                      # no database: the stateless app has no orders
        if path == "/orders":
            return self._write(body) if method == "POST" else answer(405, {"error": "method"})
        match = re.fullmatch(r"/orders/(\d{1,18})", path)
        if match:
            if method != "GET":
                return answer(405, {"error": "method"})
            return self._read(int(match.group(1)))
        return None

    # -- sessions ----------------------------------------------------------------------------
    def _login(self, body):
        data = _json(body)
        user = data.get("user") if isinstance(data, dict) else None
        if not isinstance(user, str) or not USER.match(user):
            return answer(400, {"error": "bad_request",
                                "detail": 'send {"user": NAME}, NAME of 1-64 letters, digits, '
                                          '"_", "." or "-"'})
        store = self.cfg.session_store
        if store == "token":
            token = self._sign(user)
        else:
            token = secrets.token_urlsafe(18)
            if store == "memory":
                with self.lock:
                    self.sessions[token] = user
            else:
                try:
                    self._redis_client().setex(f"session:{token}", SESSION_TTL_S, user)
                except Exception as exc:  # redis.RedisError, OSError
                    return self._store_down(exc)
                self._worked("session store")
        cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
        return answer(200, {"user": user}, [("Set-Cookie", cookie)])

    def _me(self, headers):
        token = _cookie(headers.get("Cookie", ""))
        user = None
        if token:
            store = self.cfg.session_store
            if store == "memory":
                with self.lock:
                    user = self.sessions.get(token)
            elif store == "token":
                user = self._verify(token)
            else:
                try:
                    user = self._redis_client().get(f"session:{token}")
                except Exception as exc:
                    return self._store_down(exc)
                self._worked("session store")
                user = user.decode() if isinstance(user, bytes) else user
        if user is None:
            return answer(401, {"error": "unauthenticated",
                                "detail": "no session: POST /login first"})
        return answer(200, {"user": user})

    def _store_down(self, exc):
        self._failed("session store", "/login and /me", exc)
        return answer(503, {"error": "store_unavailable", "detail": _reason(exc)})

    def _redis_client(self):
        with self.lock:
            if self._redis is None:
                import redis

                # Short timeouts: a Redis that does not answer costs a request a
                # second, not the client's whole patience.
                self._redis = redis.Redis.from_url(self.cfg.session_store, socket_timeout=1,
                                                   socket_connect_timeout=1)
            return self._redis

    def _sign(self, user):
        mac = hmac.new(self.cfg.session_secret.encode(), user.encode(), hashlib.sha256)
        encoded = base64.urlsafe_b64encode(user.encode()).decode().rstrip("=")
        return f"{encoded}.{mac.hexdigest()[:32]}"

    def _verify(self, token):
        encoded, _, mac = token.partition(".")
        try:
            user = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return user if hmac.compare_digest(self._sign(user), token) else None

    # -- orders ------------------------------------------------------------------------------
    def _database(self, work):
        """Run ``work(conn)``; map failures to 503 (unreachable) or 500 (schema)."""
        import psycopg

        for attempt in (1, 2):
            with self.lock:
                conn = self._idle.pop() if self._idle else None
            kept = conn is not None
            try:
                if conn is None:
                    conn = psycopg.connect(self.cfg.database_url, connect_timeout=2,
                                           autocommit=True, prepare_threshold=None)
                result = work(conn)
            except psycopg.OperationalError as exc:
                if conn is not None:
                    conn.close()
                if kept and attempt == 1:
                    self._drop_idle()      # the server closed them all (it restarted)
                    continue
                self._failed("database", "/orders", exc)
                return answer(503, {"error": "db_unavailable", "detail": _reason(exc)})
            except psycopg.Error as exc:
                self._keep(conn)           # autocommit: the connection is still usable
                self._worked("database")
                state = getattr(exc, "sqlstate", None)
                primary = getattr(getattr(exc, "diag", None), "message_primary", None)
                kind = "schema" if state in SCHEMA_SQLSTATES else "database_error"
                return answer(500, {"error": kind, "detail": primary or _reason(exc)})
            self._keep(conn)
            self._worked("database")
            return result

    def _keep(self, conn):
        with self.lock:
            if len(self._idle) < POOL_SIZE and not conn.closed:
                self._idle.append(conn)
                return
        conn.close()

    def _drop_idle(self):
        with self.lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _write(self, body):
        data = _json(body)
        if not (isinstance(data, dict) and _text(data.get("customer"))
                and _text(data.get("item"))):
            return answer(400, {"error": "bad_request",
                                "detail": 'send {"customer": "First Last", "item": "..."}'})
        customer, item = data["customer"], data["item"]
        values = write_values(self.cfg.schema, customer, item)
        columns = list(values)
        sql = (f"INSERT INTO orders ({', '.join(columns)}) "
               f"VALUES ({', '.join(['%s'] * len(columns))}) RETURNING id")

        def work(conn):
            order_id = conn.execute(sql, [values[c] for c in columns]).fetchone()[0]
            return answer(201, {"id": order_id, "customer": customer, "item": item})

        return self._database(work)

    def _read(self, order_id):
        columns = COLUMNS[self.cfg.schema]
        sql = f"SELECT {', '.join(columns)} FROM orders WHERE id = %s"

        def work(conn):
            row = conn.execute(sql, (order_id,)).fetchone()
            if row is None:
                return answer(404, {"error": "not_found", "id": order_id})
            row = dict(zip(columns, row))
            return answer(200, {"id": order_id, "customer": customer_of(self.cfg.schema, row),
                                "item": row["item"]})

        return self._database(work)


def _json(body):
    try:
        return json.loads(body.decode("utf-8")) if body else None
    except (ValueError, UnicodeDecodeError):
        return None


def _text(value):
    return isinstance(value, str) and 0 < len(value) <= 200


def _cookie(header):
    try:
        jar = SimpleCookie(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None
