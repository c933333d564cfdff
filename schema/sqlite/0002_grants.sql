-- 0002_grants: connection grants beside their objects, vL3 address
-- pools and leases, and the grant signing keys (DESIGN section 4,
-- "Grants").
--
-- A grant is an object of kind 4 (name: its id, owner: its principal,
-- expires_at: its exp); the rows below are written and deleted in the
-- same transaction as that object, so they never disagree with it.

-- One row per stored grant object: what the store needs for cascades
-- (an endpoint or service going away revokes its grants), address
-- release and key retirement, without parsing objects (the principal is
-- the object's owner).  slot is the leased block (NULL: the service has
-- no vL3 pool) and lease the generation of the lease it holds; kid the
-- key that signed its latest token.  Grants by endpoint are indexed
-- (endpoints come and go all the time); a service's are found by a scan
-- when it is deleted, which is rare, rather than by one more index page
-- written per grant.
CREATE TABLE grants (
	id		TEXT PRIMARY KEY,
	service		TEXT NOT NULL,
	endpoint	TEXT NOT NULL,
	kid		TEXT NOT NULL,
	slot		INTEGER,
	lease		INTEGER,
	expires_at	INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX grants_endpoint ON grants (endpoint, service);

-- A service's vL3 pool: the prefix and client block length its leases
-- come from, and low, a block below which every usable block is leased
-- (where the lowest-free search starts).
CREATE TABLE ipam_pools (
	service		TEXT PRIMARY KEY,
	prefix		TEXT NOT NULL,
	client_len	INTEGER NOT NULL,
	low		INTEGER NOT NULL
) WITHOUT ROWID;

-- Leases: one block of a service's pool to one principal while it holds
-- grants there.  The keys are the point: a block is never leased twice
-- in a service, and a principal holds at most one block per service
-- (every grant it holds there shares it).  grants counts the grant rows
-- holding the lease; the last one to go releases it.  lease is a
-- generation number (the revision of the grant that created it), so a
-- grant never releases a newer lease of the same block.  expires_at is
-- the latest expiry among its grants.
CREATE TABLE ipam_leases (
	service		TEXT NOT NULL,
	slot		INTEGER NOT NULL,
	principal	TEXT NOT NULL,
	lease		INTEGER NOT NULL,
	grants		INTEGER NOT NULL CHECK (grants > 0),
	expires_at	INTEGER NOT NULL,
	PRIMARY KEY (service, slot),
	UNIQUE (service, principal)
) WITHOUT ROWID;

-- Grant signing keys by kid (RFC 7638 thumbprint) with their public JWK.
-- retired_at NULL: the key that signs new grants.  A retired key stays
-- published in /v1/jwks until expires_at, the last expiry of a grant it
-- signed.
CREATE TABLE grant_keys (
	kid		TEXT PRIMARY KEY,
	jwk		TEXT NOT NULL,
	created_at	INTEGER NOT NULL,
	retired_at	INTEGER,
	expires_at	INTEGER
) WITHOUT ROWID;
