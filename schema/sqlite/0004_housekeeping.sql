-- 0004_housekeeping: indexes for the queries that read grants by service
-- and by signing key, and the decision log by outcome (the twin of
-- schema/postgres/0004, which also adds the housekeeping leases of a
-- cluster: one SQLite database has one nsregd, which runs every task).
CREATE INDEX grants_service ON grants (service);
CREATE INDEX grants_kid ON grants (kid, expires_at);
CREATE INDEX decisions_decision ON decisions (decision, id);
