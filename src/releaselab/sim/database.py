"""The shop's PostgreSQL, modelled: a schema version, the orders table's columns, its rows.

The real app (``cluster/app/state.py``) sends SQL to a real PostgreSQL; this
model answers the same statements the same way, down to PostgreSQL's error
messages, and the tests hold the two equal on every (SCHEMA, schema version)
pair against a real server (``tests/unit/test_app_state_real.py``).

Migrations are transitions between schema versions, one per file pair in
``cluster/app/migrations/`` (their up and down SQL is mirrored here, step by
step).  What PostgreSQL does that matters for two versions at once:

* a statement naming a column the table does not have fails at parse time
  (SQLSTATE 42703), before any row is touched — and for INSERT the message
  names the relation: ``column "customer_name" of relation "orders" does
  not exist``;
* a missing table fails the same way (42P01, ``relation "orders" does not
  exist``);
* an INSERT that leaves a NOT NULL column empty fails at execution (23502),
  after ``nextval`` has taken an id: the sequence has a gap, as on a real
  server;
* DDL is transactional: a start-up migration of several steps happens
  entirely or not at all, at one instant for every reader.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Optional

#: The columns each SCHEMA writes and reads (cluster/app/README.md).
COLUMNS = {
    "name": ("customer_name", "item"),
    "both": ("customer_name", "first_name", "last_name", "item"),
    "split": ("first_name", "last_name", "item"),
}
#: The migrations, as cluster/app/migrations/ numbers and names them.
MIGRATIONS = {1: "create_orders", 2: "add_name_parts", 3: "backfill_name_parts",
              4: "drop_customer_name"}
LATEST = max(MIGRATIONS)


class SQLError(Exception):
    """What PostgreSQL answers a statement: ``sqlstate`` and its primary message."""

    def __init__(self, sqlstate: str, message: str):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message


def split_name(customer: str) -> tuple[str, str]:
    """'Grace Brewster Hopper' → ('Grace', 'Brewster Hopper'), as migration 0003 splits."""
    first, _, rest = customer.partition(" ")
    return first, rest


def join_name(first: str, last: Optional[str]) -> str:
    return first if not last else f"{first} {last}"


def concat_ws(*parts: Optional[str]) -> str:
    """PostgreSQL's concat_ws(' ', ...): NULLs are skipped."""
    return " ".join(p for p in parts if p is not None)


def customer_of(schema: str, row: dict) -> Optional[str]:
    """The customer code of ``schema`` shows for a row it read (None: the row has none)."""
    if schema == "name":
        return row["customer_name"]
    if row["first_name"] is not None:
        return join_name(row["first_name"], row["last_name"])
    return row["customer_name"] if schema == "both" else None


@dataclass
class Database:
    """One PostgreSQL database holding the shop's ``orders`` (and ``schema_migrations``)."""

    #: column name → nullable, in the table's column order; None: no table
    columns: Optional[dict] = None
    rows: list = field(default_factory=list)
    version: int = 0
    next_id: int = 1

    # -- migrations ------------------------------------------------------------------
    def migrate(self, target: int, allow_down: bool = False) -> list[tuple[int, str, str]]:
        """Bring the schema to ``target`` as migrate.py does: up only unless ``allow_down``.

        All steps or none (one transaction); returns [(version, name, "up"|"down")].
        """
        if not 0 <= target <= LATEST:
            raise ValueError(f"there is no schema version {target} (versions 0 to {LATEST})")
        done = []
        trial = copy.deepcopy(self)
        if target > self.version:
            for version in range(self.version + 1, target + 1):
                getattr(trial, f"_up{version}")()
                done.append((version, MIGRATIONS[version], "up"))
        elif target < self.version and allow_down:
            for version in range(self.version, target, -1):
                getattr(trial, f"_down{version}")()
                done.append((version, MIGRATIONS[version], "down"))
        if done:
            trial.version = target
            self.__dict__.update(trial.__dict__)
        return done

    def _up1(self) -> None:
        # CREATE TABLE orders (id bigserial, customer_name text NOT NULL, item text NOT NULL, ...)
        self.columns = {"customer_name": False, "item": False}
        self.rows, self.next_id = [], 1

    def _down1(self) -> None:
        self.columns, self.rows, self.next_id = None, [], 1

    def _up2(self) -> None:
        # ADD COLUMN first_name, last_name; customer_name DROP NOT NULL
        self.columns = {**self.columns, "first_name": True, "last_name": True,
                        "customer_name": True}
        self.columns = {k: self.columns[k] for k in ("customer_name", "item", "first_name",
                                                     "last_name") if k in self.columns}
        for row in self.rows:
            row["first_name"] = row["last_name"] = None

    def _down2(self) -> None:
        for row in self.rows:
            if row["customer_name"] is None:
                row["customer_name"] = concat_ws(row["first_name"], row["last_name"] or None)
            del row["first_name"], row["last_name"]
        self.columns = {"customer_name": False, "item": False}

    def _up3(self) -> None:
        for row in self.rows:
            if row["first_name"] is None and row["customer_name"] is not None:
                row["first_name"], row["last_name"] = split_name(row["customer_name"])

    def _down3(self) -> None:
        pass        # a data migration: nothing to undo

    def _up4(self) -> None:
        del self.columns["customer_name"]
        for row in self.rows:
            del row["customer_name"]

    def _down4(self) -> None:
        self.columns["customer_name"] = True
        for row in self.rows:
            row["customer_name"] = concat_ws(row["first_name"], row["last_name"] or None)

    # -- statements -------------------------------------------------------------------
    def _missing(self, columns, insert: bool) -> None:
        if self.columns is None:
            raise SQLError("42P01", 'relation "orders" does not exist')
        for column in columns:
            if column not in self.columns:
                where = ' of relation "orders"' if insert else ""
                raise SQLError("42703", f'column "{column}"{where} does not exist')

    def insert(self, values: dict) -> int:
        """INSERT INTO orders (<values' columns>) ... RETURNING id."""
        self._missing(values, insert=True)
        order_id = self.next_id
        self.next_id += 1               # nextval() runs before the constraints are checked
        for column, nullable in self.columns.items():
            if not nullable and values.get(column) is None:
                raise SQLError("23502", f'null value in column "{column}" of relation "orders" '
                               "violates not-null constraint")
        self.rows.append({"id": order_id, **{c: values.get(c) for c in self.columns}})
        return order_id

    def select(self, columns, order_id: int) -> Optional[dict]:
        """SELECT <columns> FROM orders WHERE id = order_id."""
        self._missing(columns, insert=False)
        for row in self.rows:
            if row["id"] == order_id:
                return {c: row[c] for c in columns}
        return None

    # -- what a SCHEMA's code does with it ----------------------------------------------
    def write_order(self, schema: str, customer: str, item: str) -> int:
        first, last = split_name(customer)
        values = {"customer_name": customer, "first_name": first, "last_name": last,
                  "item": item}
        return self.insert({c: values[c] for c in COLUMNS[schema]})

    def read_order(self, schema: str, order_id: int) -> Optional[dict]:
        """{"id", "customer", "item"} as code of ``schema`` shows it, or None (no such row)."""
        row = self.select(COLUMNS[schema], order_id)
        if row is None:
            return None
        return {"id": order_id, "customer": customer_of(schema, row), "item": row["item"]}
