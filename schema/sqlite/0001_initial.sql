-- 0001_initial: objects, the event history (which also carries the
-- global revision counter) and the decision log.
--
-- Numbers stored here are part of the schema and never renumbered:
-- kind is enum store_kind (0 service, 1 endpoint, 2 policy,
-- 3 trust-domain, 4 grant), type is enum store_event_type (0 ADDED,
-- 1 MODIFIED, 2 DELETED).  Times are milliseconds since the epoch.

-- key 'trimmed.K': the newest event of kind K removed from events, so a
-- watch resuming before it answers gone.
CREATE TABLE meta (
	key	TEXT PRIMARY KEY,
	value	INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per stored object.  object is the rendered JSON text (what
-- clients see: the document plus the metadata columns) so that reads
-- parse once and never re-render; the document is the rendered text
-- without its metadata keys.  expires_at 0 means never.  services is
-- the compact JSON text of an endpoint's network_service_names (NULL for
-- other kinds): nsregd keeps the endpoints-by-service index in memory,
-- built from this column at start-up, because three random index pages
-- per registration would cost more than the rest of the write.
CREATE TABLE objects (
	kind		INTEGER NOT NULL,
	name		TEXT NOT NULL,
	revision	INTEGER NOT NULL,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL DEFAULT 0,
	owner		TEXT,
	object		TEXT NOT NULL,
	services	TEXT,
	PRIMARY KEY (kind, name)
);
-- Live counts (kind, expires_at > now) and the expiry sweep.
CREATE INDEX objects_expiry ON objects (kind, expires_at);

-- The change history for watch resume, trimmed by store_prune.  object
-- is the rendered object of the event.  Every write appends at least one
-- event and trimming keeps the newest, so max(revision) is the global
-- revision counter: no counter row rewritten by every commit.  No index
-- on kind either: a resume reads the few thousand kept events in order,
-- which is cheaper than one more page written per commit.
CREATE TABLE events (
	revision	INTEGER PRIMARY KEY,
	kind		INTEGER NOT NULL,
	type		INTEGER NOT NULL,
	name		TEXT NOT NULL,
	reason		TEXT,
	object		TEXT NOT NULL
);

-- The decision log: entry is the JSON entry as given, the other columns
-- are copies of its fields for the filters.
CREATE TABLE decisions (
	id		INTEGER PRIMARY KEY,
	time		INTEGER NOT NULL,
	principal	TEXT,
	action		TEXT,
	decision	TEXT,
	entry		TEXT NOT NULL
);
CREATE INDEX decisions_time ON decisions (time);
CREATE INDEX decisions_principal ON decisions (principal, id);
CREATE INDEX decisions_action ON decisions (action, id);
