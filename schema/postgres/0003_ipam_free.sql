-- 0003_ipam_free: the blocks returned to a vL3 pool (the PostgreSQL twin
-- of schema/sqlite/0003).  A PostgreSQL database is created at 0003 or
-- later, so there are no older pools to fill it from.
CREATE TABLE ipam_free (
	service		TEXT NOT NULL,
	slot		BIGINT NOT NULL,
	PRIMARY KEY (service, slot)
);
