-- 0001 down: no orders table at all (every order is gone: only for a fresh start).
DROP TABLE orders;
