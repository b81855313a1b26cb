-- Sessions of the workbench (DOMAIN §16): a cookie holds a random secret, of which only the
-- SHA-256 is kept, as with tokens. A session ends when its user signs out, when it has been idle
-- too long or is too old (the service reads `last_seen_at` and `expires_at`), when an admin sets
-- the user's password or deactivates the user (`ended_at`), and a deactivated user's sessions
-- stop at once, as their tokens do (the lookup joins `users.active`).
CREATE TABLE sessions (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id),
    secret_hash   bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    -- Who signed in from where, for the audit of sign-ins (an address block, not a person).
    client        text CHECK (char_length(client) <= 80),
    CHECK (expires_at > created_at AND last_seen_at >= created_at)
);
CREATE INDEX sessions_user_open ON sessions (user_id) WHERE ended_at IS NULL;
-- The service moves last_seen_at and ends sessions; it never removes one.
GRANT UPDATE (last_seen_at, ended_at) ON sessions TO hotline_runtime;
