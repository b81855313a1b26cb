-- Signing in to the workbench (DOMAIN §16): a user's unique login and a password an admin sets.
-- Only a slow salted hash is kept (PBKDF2-HMAC-SHA512, `Organisation/Passwords.swift`): the
-- password itself is in no table, log or replay record. A user without a login (an exchange
-- client, a user made before this) signs in with tokens alone.
ALTER TABLE users ADD COLUMN login text UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._-]{1,63}$');
ALTER TABLE users ADD COLUMN password_hash text CHECK (password_hash ~ '^pbkdf2-sha512\$[0-9]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$');
ALTER TABLE users ADD COLUMN password_set_at timestamptz;
ALTER TABLE users ADD CONSTRAINT users_password_set CHECK ((password_hash IS NULL) = (password_set_at IS NULL));
