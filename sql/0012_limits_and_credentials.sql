-- One caller cannot starve the rest (DOMAIN §13): the public endpoints are limited across all
-- instances, so the limits live here, not in each instance's memory.

-- Requests per key (an IPv4 address, an IPv6 /64, an Open311 key) in the current minute.
CREATE TABLE rate_limits (
    key           text PRIMARY KEY CHECK (char_length(key) <= 200),
    window_start  timestamptz NOT NULL,
    hits          integer NOT NULL CHECK (hits >= 1)
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);

-- Wrong lookups of a case number: after a few, its lookup answers "no such case" for a while,
-- whatever the phone digits, so the four digits cannot be walked from many addresses.
CREATE TABLE lookup_locks (
    number            text PRIMARY KEY CHECK (number ~ '^[0-9]{14}$'),
    failures          integer NOT NULL CHECK (failures >= 1),
    first_failure_at  timestamptz NOT NULL,
    locked_until      timestamptz
);
CREATE INDEX lookup_locks_first_failure ON lookup_locks (first_failure_at);

-- Credentials end: a token expires, and it is known who issued it and when it was last used.
ALTER TABLE tokens
    ADD COLUMN expires_at    timestamptz,
    ADD COLUMN issued_by     bigint REFERENCES users (id),
    ADD COLUMN last_used_at  timestamptz;
UPDATE tokens SET expires_at = created_at + interval '90 days';
ALTER TABLE tokens ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE open311_keys ADD COLUMN issued_by bigint REFERENCES users (id);
