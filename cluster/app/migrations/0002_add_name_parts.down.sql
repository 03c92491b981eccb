-- 0002 down: give rows written only with the new columns their old column
-- back, then drop the new ones. Nothing written since the expand is lost.
UPDATE orders
   SET customer_name = concat_ws(' ', first_name, nullif(last_name, ''))
 WHERE customer_name IS NULL;
ALTER TABLE orders ALTER COLUMN customer_name SET NOT NULL;
ALTER TABLE orders
    DROP COLUMN first_name,
    DROP COLUMN last_name;
