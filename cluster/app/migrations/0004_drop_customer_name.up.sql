-- 0004 drop_customer_name — CONTRACT. The old column goes. Code that reads or
-- writes it (SCHEMA=name, SCHEMA=both) fails from here on, and a row whose
-- name lived only there (written after the backfill by SCHEMA=name code)
-- loses its customer for good.
ALTER TABLE orders DROP COLUMN customer_name;
