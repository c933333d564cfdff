-- 0004_housekeeping: the leases that elect which instance of a cluster
-- runs each housekeeping task, and indexes that hot paths lacked (the
-- PostgreSQL twin of schema/sqlite/0004; tests/unit/test_pg_explain
-- checks the plan of every statement).

-- One row per task ('sweep', 'decisions', 'federation'): the instance
-- named by holder runs it until expires_at (milliseconds, the database's
-- clock), renewing it while it lives; once expired, any instance may take
-- it (INSERT ... ON CONFLICT DO UPDATE ... WHERE, which CockroachDB and
-- YugabyteDB accept too: no advisory locks).
CREATE TABLE task_leases (
	task		TEXT PRIMARY KEY,
	holder		TEXT NOT NULL,
	expires_at	BIGINT NOT NULL
);

-- GET /v1/decisions?decision=deny: denials are few among many allows.
CREATE INDEX decisions_decision ON decisions (decision, id);

-- Retiring a signing key reads the last expiry of its grants: one index
-- entry instead of every grant signed with it.
DROP INDEX grants_kid;
CREATE INDEX grants_kid ON grants (kid, expires_at);
