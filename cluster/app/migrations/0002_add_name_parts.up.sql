-- 0002 add_name_parts — EXPAND. New nullable columns beside the old one, and
-- customer_name no longer required, so code that writes only the new columns
-- (SCHEMA=split) can insert too. Backward compatible: SCHEMA=name still
-- inserts (first_name, last_name stay NULL) and still reads its column.
ALTER TABLE orders
    ADD COLUMN first_name text,
    ADD COLUMN last_name  text;
ALTER TABLE orders ALTER COLUMN customer_name DROP NOT NULL;
