-- Open311 GeoReport v2 (DOMAIN §12): the API keys of citizen apps and civic tools. Each key
-- files cases in the name of a user of its own (an operator account no one signs in with), so
-- that every case still has an acceptor and the timeline says which client filed it.
CREATE TABLE open311_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    user_id     bigint NOT NULL UNIQUE REFERENCES users (id),
    key_hash    bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX cases_open311 ON cases (accepted_at DESC) WHERE channel = 'open311';
