-- 0003_ipam_free: the blocks returned to a vL3 pool, so that its lowest
-- free block is found by two index probes (the lowest returned block,
-- and the block after the highest leased) instead of a walk over its
-- leases: pools may now be an IPv6 /64 of /128 clients or larger, with
-- as many leases as there are clients.
--
-- A block goes in when its lease is released and out when it is leased
-- again.  Every free block below the highest leased is in it, and every
-- block in it is free, so the lowest free block of a pool is the lower
-- of its first returned block and the one after its highest leased.
-- ipam_pools.low is no longer read; it is kept so that older rows stay
-- as they were written.
CREATE TABLE ipam_free (
	service		TEXT NOT NULL,
	slot		INTEGER NOT NULL,
	PRIMARY KEY (service, slot)
) WITHOUT ROWID;

-- Pools written before: every usable block below low was leased, so the
-- free blocks below the highest leased are those from low up that are
-- not.
WITH RECURSIVE gap(service, slot, top) AS (
	SELECT p.service, p.low, (SELECT max(l.slot) FROM ipam_leases l
	    WHERE l.service = p.service)
	FROM ipam_pools p
	UNION ALL
	SELECT service, slot + 1, top FROM gap WHERE slot + 1 < top
)
INSERT INTO ipam_free (service, slot)
SELECT service, slot FROM gap
WHERE top IS NOT NULL AND slot < top AND NOT EXISTS (SELECT 1 FROM
    ipam_leases l WHERE l.service = gap.service AND l.slot = gap.slot);
