-- 0003 backfill_name_parts — MIGRATE the data. Every row that has only the
-- old column gets the new ones: the first word is the first name, the rest
-- the last name ("Grace Brewster Hopper" -> "Grace", "Brewster Hopper").
-- Rows written after this ran by code that writes only customer_name
-- (SCHEMA=name) are NOT backfilled: run it when no such code runs any more.
UPDATE orders
   SET first_name = split_part(customer_name, ' ', 1),
       last_name  = substr(customer_name, length(split_part(customer_name, ' ', 1)) + 2)
 WHERE first_name IS NULL
   AND customer_name IS NOT NULL;
