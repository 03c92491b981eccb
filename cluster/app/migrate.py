"""Versioned SQL migrations of the demo app's database (the files in migrations/).

Each migration is a pair of plain SQL files, ``NNNN_name.up.sql`` and
``NNNN_name.down.sql``, numbered from 0001 without gaps.  The database keeps
what ran in a table ``schema_migrations`` (version, name, applied_at), so its
**schema version** is the highest version recorded there (0: none).

``MIGRATE=N`` at the server's start brings the database *up* to version N:
every pending migration up to N, in order, in ONE transaction, under a
PostgreSQL advisory lock — four pods that start together migrate once, and
a migration that fails leaves nothing half-done (PostgreSQL's DDL is
transactional).  The server never runs a down step by itself: a database
ahead of N stays as it is.  Down steps are for people, from this module's
command line (or ``kubectl exec``)::

    python migrate.py --to 1                      # DATABASE_URL from the environment
    python migrate.py --to 4 --database-url postgresql://user:pw@host/db

Standard library at import; psycopg is imported when a connection is made.
"""

import argparse
import os
import re
import sys
from collections import namedtuple

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")
# pg_advisory_xact_lock takes a bigint key; any constant the app alone uses.
# 0x72656c6561736501 is "release" in ASCII plus 01.
LOCK_KEY = 0x72656C6561736501
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$")

Migration = namedtuple("Migration", "version name up down")


class MigrationError(Exception):
    """A migration that cannot run: one line saying which and why."""


def available(directory=MIGRATIONS_DIR):
    """The migrations in ``directory``, oldest first; MigrationError if the set is broken."""
    found = {}
    for filename in sorted(os.listdir(directory)):
        match = _FILE.match(filename)
        if not match:
            continue
        version, name, direction = int(match.group(1)), match.group(2), match.group(3)
        entry = found.setdefault(version, {"name": name})
        if entry["name"] != name:
            raise MigrationError(f"migration {version:04d} has two names: "
                                 f"{entry['name']} and {name}")
        with open(os.path.join(directory, filename), encoding="utf-8") as handle:
            entry[direction] = handle.read()
    migrations = []
    for expected, version in enumerate(sorted(found), 1):
        entry = found[version]
        if version != expected:
            raise MigrationError(f"migration {expected:04d} is missing (found {version:04d})")
        for direction in ("up", "down"):
            if direction not in entry:
                raise MigrationError(f"migration {version:04d}_{entry['name']} has no "
                                     f"{direction} step ({version:04d}_{entry['name']}."
                                     f"{direction}.sql)")
        migrations.append(Migration(version, entry["name"], entry["up"], entry["down"]))
    return migrations


def latest(directory=MIGRATIONS_DIR):
    """The highest version there is a migration for."""
    return len(available(directory))


def _statements(sql):
    """The SQL without its comments, or "" if nothing is left (an intentionally empty step)."""
    text = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return text.strip()


def current(conn):
    """The database's schema version: the highest one recorded, 0 if none."""
    row = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(conn, target, *, allow_down=False, directory=MIGRATIONS_DIR):
    """Bring the database to version ``target``; returns [(version, name, "up"|"down")] run.

    Up steps only, unless ``allow_down``; everything in one transaction.
    """
    migrations = available(directory)
    if not 0 <= target <= len(migrations):
        raise MigrationError(f"there is no schema version {target} "
                             f"(versions 0 to {len(migrations)})")
    done = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version integer PRIMARY KEY, name text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())")
        now = current(conn)
        if now > len(migrations):
            raise MigrationError(f"the database is at schema version {now}, newer than any "
                                 f"migration this image knows (up to {len(migrations)})")
        if target > now:
            for m in migrations[now:target]:
                _run(conn, m, "up")
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                             (m.version, m.name))
                done.append((m.version, m.name, "up"))
        elif target < now and allow_down:
            for m in reversed(migrations[target:now]):
                _run(conn, m, "down")
                conn.execute("DELETE FROM schema_migrations WHERE version = %s", (m.version,))
                done.append((m.version, m.name, "down"))
    return done


def _run(conn, migration, direction):
    sql = _statements(getattr(migration, direction))
    if not sql:
        return
    try:
        # No parameters: psycopg sends the file as one simple query, several
        # statements included.
        conn.execute(sql)
    except Exception as exc:  # psycopg.Error; the transaction rolls back
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MigrationError(f"{migration.version:04d}_{migration.name} {direction} failed: "
                             f"{reason}") from None


def describe(done):
    """'0002 add_name_parts, 0003 backfill_name_parts' for a log line."""
    return ", ".join(f"{version:04d} {name}" + (" (down)" if way == "down" else "")
                     for version, name, way in done)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Bring the demo app's database to a schema "
                                                 "version (up or down).")
    parser.add_argument("--to", type=int, required=True, help="the schema version to reach")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="postgresql:// URL (default: $DATABASE_URL)")
    args = parser.parse_args(argv)
    if not args.database_url:
        print("migrate: no database: set DATABASE_URL or pass --database-url", file=sys.stderr)
        return 2
    import psycopg

    try:
        with psycopg.connect(args.database_url, connect_timeout=5) as conn:
            before = current(conn)
            done = migrate(conn, args.to, allow_down=True)
    except MigrationError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:
        print(f"migrate: cannot reach the database: {str(exc).strip().splitlines()[0]}",
              file=sys.stderr)
        return 1
    print(f"schema version {before} -> {args.to}" + (f": {describe(done)}" if done else
                                                       " (nothing to do)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
