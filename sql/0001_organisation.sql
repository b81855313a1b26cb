-- The organisation: units (a tree, ranked within their group), users with one role each,
-- bearer tokens stored only as hashes, categories with their routing, and the time-limit table.

CREATE TABLE units (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    unit_group  text NOT NULL CHECK (unit_group IN ('city_department', 'district', 'functional_zone', 'town', 'enterprise')),
    parent      text REFERENCES units (code),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent IS DISTINCT FROM code)
);
CREATE INDEX units_parent ON units (parent);

-- A unit may not become its own ancestor.
CREATE FUNCTION units_refuse_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent IS NOT NULL AND EXISTS (
        WITH RECURSIVE up (code) AS (
            SELECT NEW.parent
            UNION
            SELECT u.parent FROM units u JOIN up ON u.code = up.code WHERE u.parent IS NOT NULL
        )
        SELECT 1 FROM up WHERE up.code = NEW.code
    ) THEN
        RAISE EXCEPTION 'unit % would be its own ancestor', NEW.code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'units_no_cycle';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER units_no_cycle BEFORE INSERT OR UPDATE OF parent ON units
    FOR EACH ROW EXECUTE FUNCTION units_refuse_cycle();

CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    role        text NOT NULL CHECK (role IN ('operator', 'dispatcher', 'handler', 'manager', 'supervisor', 'admin')),
    unit_code   text REFERENCES units (code),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- A handler acts for exactly one unit; the center's roles for none.
    CONSTRAINT users_handler_has_unit CHECK ((role = 'handler') = (unit_code IS NOT NULL))
);
CREATE INDEX users_unit ON users (unit_code);

CREATE TABLE tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash  bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX tokens_user ON tokens (user_id);

-- Unit codes held in arrays (assisting units) must name real units.
CREATE FUNCTION refuse_unknown_units(codes text[], what text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    SELECT c INTO missing FROM unnest(codes) AS c WHERE NOT EXISTS (SELECT 1 FROM units WHERE code = c) LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '% names unknown unit %', what, missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'assist_units_exist';
    END IF;
END $$;

CREATE TABLE categories (
    code                  text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    name                  text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    parent                text REFERENCES categories (code),
    default_lead_unit     text REFERENCES units (code),
    default_assist_units  text[] NOT NULL DEFAULT '{}',
    active                boolean NOT NULL DEFAULT true,
    CHECK (parent IS DISTINCT FROM code),
    CHECK (default_lead_unit IS NULL OR NOT default_lead_unit = ANY (default_assist_units)),
    CHECK (array_position(default_assist_units, NULL) IS NULL)
);

CREATE FUNCTION categories_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refuse_unknown_units(NEW.default_assist_units, 'default_assist_units');
    IF NEW.parent IS NOT NULL AND EXISTS (
        WITH RECURSIVE up (code) AS (
            SELECT NEW.parent
            UNION
            SELECT c.parent FROM categories c JOIN up ON c.code = up.code WHERE c.parent IS NOT NULL
        )
        SELECT 1 FROM up WHERE up.code = NEW.code
    ) THEN
        RAISE EXCEPTION 'category % would be its own ancestor', NEW.code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'categories_no_cycle';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER categories_check BEFORE INSERT OR UPDATE ON categories
    FOR EACH ROW EXECUTE FUNCTION categories_check();

-- Routing by region: where the matter is decides the lead unit (a district's own bureau, say).
CREATE TABLE category_routes (
    category      text NOT NULL REFERENCES categories (code),
    region        text NOT NULL REFERENCES units (code),
    lead_unit     text NOT NULL REFERENCES units (code),
    assist_units  text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (category, region),
    CHECK (NOT lead_unit = ANY (assist_units)),
    CHECK (array_position(assist_units, NULL) IS NULL)
);

CREATE FUNCTION category_routes_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refuse_unknown_units(NEW.assist_units, 'assist_units');
    RETURN NEW;
END $$;
CREATE TRIGGER category_routes_check BEFORE INSERT OR UPDATE ON category_routes
    FOR EACH ROW EXECUTE FUNCTION category_routes_check();

-- DOMAIN §6. A limit is a number of working days, hours or minutes; the extension row is the
-- most working days an extension may add, 0 where none is allowed.
CREATE TABLE time_limits (
    case_type  text NOT NULL CHECK (case_type IN ('consultation', 'help', 'complaint', 'report', 'suggestion')),
    urgency    text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    step       text NOT NULL CHECK (step IN ('sign', 'reply', 'return_window', 'extension', 'opinion', 'visit', 'reopen_reply')),
    amount     integer NOT NULL CHECK (amount BETWEEN 0 AND 10000),
    unit       text NOT NULL CHECK (unit IN ('working_days', 'hours', 'minutes')),
    PRIMARY KEY (case_type, urgency, step),
    CHECK (step <> 'extension' OR unit = 'working_days'),
    CHECK (step = 'extension' OR amount > 0)
);

INSERT INTO time_limits (case_type, urgency, step, amount, unit)
SELECT t.case_type, d.urgency, d.step, d.amount, d.unit
FROM (VALUES ('consultation'), ('help'), ('complaint'), ('report'), ('suggestion')) AS t (case_type)
CROSS JOIN (VALUES
    ('normal', 'sign',          1, 'working_days'),
    ('normal', 'reply',         5, 'working_days'),
    ('normal', 'return_window', 2, 'working_days'),
    ('normal', 'extension',    10, 'working_days'),
    ('normal', 'opinion',       3, 'working_days'),
    ('normal', 'visit',         3, 'working_days'),
    ('normal', 'reopen_reply',  5, 'working_days'),
    ('urgent', 'sign',         30, 'minutes'),
    ('urgent', 'reply',        24, 'hours'),
    ('urgent', 'return_window', 2, 'hours'),
    ('urgent', 'extension',     0, 'working_days'),
    ('urgent', 'opinion',      12, 'hours'),
    ('urgent', 'visit',         1, 'working_days'),
    ('urgent', 'reopen_reply', 24, 'hours')
) AS d (urgency, step, amount, unit);

-- A category may override a limit for an urgency (a category may set a shorter urgent sign).
CREATE TABLE category_time_limits (
    category  text NOT NULL REFERENCES categories (code),
    urgency   text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    step      text NOT NULL CHECK (step IN ('sign', 'reply', 'return_window', 'extension', 'opinion', 'visit', 'reopen_reply')),
    amount    integer NOT NULL CHECK (amount BETWEEN 0 AND 10000),
    unit      text NOT NULL CHECK (unit IN ('working_days', 'hours', 'minutes')),
    PRIMARY KEY (category, urgency, step),
    CHECK (step <> 'extension' OR unit = 'working_days'),
    CHECK (step = 'extension' OR amount > 0)
);
