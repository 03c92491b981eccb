-- 0001 create_orders: the shop's first schema. Version 5.0 writes and reads
-- customer_name (SCHEMA=name).
CREATE TABLE orders (
    id            bigserial PRIMARY KEY,
    customer_name text NOT NULL,
    item          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
