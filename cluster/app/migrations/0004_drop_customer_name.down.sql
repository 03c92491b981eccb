-- 0004 down: the old column again, rebuilt from the parts.
ALTER TABLE orders ADD COLUMN customer_name text;
UPDATE orders SET customer_name = concat_ws(' ', first_name, nullif(last_name, ''));
