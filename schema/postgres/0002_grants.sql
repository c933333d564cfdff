-- 0002_grants: connection grants beside their objects, vL3 address
-- pools and leases, and the grant signing keys (the PostgreSQL twin of
-- schema/sqlite/0002; its comments say what each table is for).
CREATE TABLE grants (
	id		TEXT PRIMARY KEY,
	service		TEXT NOT NULL,
	endpoint	TEXT NOT NULL,
	kid		TEXT NOT NULL,
	slot		BIGINT,
	lease		BIGINT,
	expires_at	BIGINT NOT NULL
);
CREATE INDEX grants_endpoint ON grants (endpoint, service);
CREATE INDEX grants_service ON grants (service);
CREATE INDEX grants_kid ON grants (kid);

CREATE TABLE ipam_pools (
	service		TEXT PRIMARY KEY,
	prefix		TEXT NOT NULL,
	client_len	INTEGER NOT NULL,
	low		BIGINT NOT NULL
);

CREATE TABLE ipam_leases (
	service		TEXT NOT NULL,
	slot		BIGINT NOT NULL,
	principal	TEXT NOT NULL,
	lease		BIGINT NOT NULL,
	grants		INTEGER NOT NULL CHECK (grants > 0),
	expires_at	BIGINT NOT NULL,
	PRIMARY KEY (service, slot),
	UNIQUE (service, principal)
);

CREATE TABLE grant_keys (
	kid		TEXT PRIMARY KEY,
	jwk		TEXT NOT NULL,
	created_at	BIGINT NOT NULL,
	retired_at	BIGINT,
	expires_at	BIGINT
);
