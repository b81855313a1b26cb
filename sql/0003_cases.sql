-- Cases (工单), the citizen's contact kept apart from them, assignments to units, and the
-- append-only timeline.

-- Case numbers are YYYYMMDD plus a daily sequence; one row per Shanghai day hands them out.
CREATE TABLE case_number_days (
    day       date PRIMARY KEY,
    last_seq  integer NOT NULL CHECK (last_seq BETWEEN 1 AND 999999)
);

CREATE TABLE cases (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number             text NOT NULL UNIQUE CHECK (number ~ '^[0-9]{14}$'),
    channel            text NOT NULL CHECK (channel IN ('phone', 'web', 'app', 'wechat', 'sms', 'email', 'letter', 'open311')),
    case_type          text NOT NULL CHECK (case_type IN ('consultation', 'help', 'complaint', 'report', 'suggestion')),
    urgency            text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    category           text NOT NULL REFERENCES categories (code),
    subject            text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),
    description        text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 4000),
    address            text CHECK (char_length(address) BETWEEN 1 AND 500),
    region             text REFERENCES units (code),
    latitude           double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude          double precision CHECK (longitude BETWEEN -180 AND 180),
    anonymous          boolean NOT NULL,
    confidential       boolean NOT NULL,
    contact_consent    boolean NOT NULL,
    status             text NOT NULL CHECK (status IN ('accepted', 'dispatched', 'in_progress', 'return_requested', 'replied', 'closed', 'merged')),
    closure            text CHECK (closure IN ('visited', 'direct_answer', 'emergency_transfer', 'withdrawn', 'unreachable', 'no_visit_needed')),
    accepted_at        timestamptz NOT NULL,
    accepted_by        bigint NOT NULL REFERENCES users (id),
    closed_at          timestamptz,
    direct_answer      text CHECK (char_length(direct_answer) BETWEEN 1 AND 4000),
    direct_answer_articles bigint[] NOT NULL DEFAULT '{}',
    transfer_service   text CHECK (transfer_service IN ('110', '119', '120', '122')),
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    CHECK (NOT anonymous OR NOT contact_consent),
    CONSTRAINT cases_closed_has_closure CHECK ((status = 'closed') = (closure IS NOT NULL) AND (status = 'closed') = (closed_at IS NOT NULL)),
    CONSTRAINT cases_direct_answer CHECK ((closure IS NOT DISTINCT FROM 'direct_answer') = (direct_answer IS NOT NULL)),
    CONSTRAINT cases_direct_answer_consultation CHECK (direct_answer IS NULL OR case_type = 'consultation'),
    CONSTRAINT cases_transfer CHECK ((closure IS NOT DISTINCT FROM 'emergency_transfer') = (transfer_service IS NOT NULL))
);
CREATE INDEX cases_status ON cases (status, id);
CREATE INDEX cases_accepted_at ON cases (accepted_at);
CREATE INDEX cases_category ON cases (category, id);

-- Who the citizen is lives apart from the case, so that no query made for a unit can select it
-- by accident: only the center's reads join this table.
CREATE TABLE case_contacts (
    case_id  bigint PRIMARY KEY REFERENCES cases (id),
    name     text CHECK (char_length(name) BETWEEN 1 AND 50),
    phone    text CHECK (phone ~ '^\+?[0-9]{5,20}$')
);

-- A unit's part in a case: the lead unit or an assisting unit (DOMAIN §5). The deadlines and
-- the steps of handling come with the handling migration.
CREATE TABLE assignments (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id        bigint NOT NULL REFERENCES cases (id),
    unit_code      text NOT NULL REFERENCES units (code),
    role           text NOT NULL CHECK (role IN ('lead', 'assist')),
    status         text NOT NULL CHECK (status IN ('dispatched', 'signed', 'returned', 'replied', 'done', 'cancelled')),
    dispatched_at  timestamptz NOT NULL
);
CREATE INDEX assignments_case ON assignments (case_id);
CREATE INDEX assignments_unit ON assignments (unit_code, case_id);

-- The timeline (DOMAIN §11): every state change, urging, note, visit, disclosure and identity
-- read, written in the transaction of the change it records. It carries no personal data.
CREATE TABLE case_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    at          timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
    actor_id    bigint REFERENCES users (id),
    actor_role  text CHECK (actor_role IN ('operator', 'dispatcher', 'handler', 'manager', 'supervisor', 'admin', 'system', 'open311')),
    unit_code   text REFERENCES units (code),
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- Events are never changed or removed, whoever asks, the service's own role included.
CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the case timeline is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER case_events_no_change BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();

-- Idempotency-Key (DOMAIN §13): the first answer to a key is kept and given again to a retry
-- with the same request; the key is claimed in the transaction of the change it guards.
CREATE TABLE idempotency_keys (
    scope        text NOT NULL,
    key          text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
    fingerprint  bytea NOT NULL,
    status       integer,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
