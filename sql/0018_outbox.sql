-- Notifications (DOMAIN §14): subscriptions an administrator makes, and an outbox of deliveries
-- written in the same transaction as the change they report.

-- A receiver of webhooks. Its secret is kept sealed (AES-GCM with a key from configuration),
-- the one secret the service must be able to read back (it signs with it; DOMAIN §13).
CREATE TABLE subscriptions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    url             text NOT NULL CHECK (url ~ '^https?://[^[:space:]]+$' AND char_length(url) <= 2000),
    events          text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 30 AND events <@ ARRAY[
        'case.accepted', 'case.dispatched', 'case.passed_down', 'case.signed', 'case.first_contact',
        'case.return_requested', 'case.returned', 'case.extension_requested', 'case.extended', 'case.urged',
        'case.escalated', 'case.reply_under_review', 'case.reply_sent_back', 'case.replied', 'case.visited',
        'case.reopened', 'case.closed', 'case.merged', 'case.transferred', 'case.supplemented', '*']::text[]),
    -- Whose sight the bodies have, and whose cases it hears of; none: every case, as an
    -- assisting unit sees it.
    unit_code       text REFERENCES units (code),
    secret_sealed   bytea NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    disabled_reason text CHECK (char_length(disabled_reason) BETWEEN 1 AND 500),
    created_at      timestamptz NOT NULL,
    created_by      bigint NOT NULL REFERENCES users (id),
    updated_at      timestamptz NOT NULL
);
GRANT UPDATE ON subscriptions TO hotline_runtime;

-- The outbox: one row per event and subscription, made when the event's transaction commits.
-- The id is the delivery's id, the same on every repeat; the body is frozen at the first attempt.
CREATE TABLE deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id  bigint NOT NULL REFERENCES subscriptions (id),
    event_id         bigint NOT NULL REFERENCES case_events (id),
    case_id          bigint NOT NULL REFERENCES cases (id),
    kind             text NOT NULL,
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'delivered', 'parked')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- Null: due at once (a first attempt); set by the deliverer's clock after a failure.
    next_attempt_at  timestamptz,
    body             bytea,
    last_error       text CHECK (char_length(last_error) <= 500),
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    -- Exactly once in the outbox, whatever retries the transaction saw.
    UNIQUE (subscription_id, event_id),
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX deliveries_due ON deliveries (coalesce(next_attempt_at, '-infinity'), id) WHERE status = 'queued';
-- A case's deliveries to one receiver go in order: the earliest undelivered one is the next.
CREATE INDEX deliveries_pending ON deliveries (subscription_id, case_id, id) WHERE status <> 'delivered';
GRANT UPDATE ON deliveries TO hotline_runtime;

-- The webhook kind of a timeline event, or NULL for one no receiver hears of (notes, opinions,
-- a reveal, a recomputed deadline...).
CREATE FUNCTION webhook_kind(kind text, details jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind
        WHEN 'accepted' THEN 'case.accepted'
        WHEN 'dispatched' THEN 'case.dispatched'
        WHEN 'passed_down' THEN 'case.passed_down'
        WHEN 'signed' THEN 'case.signed'
        WHEN 'contacted' THEN 'case.first_contact'
        WHEN 'return_requested' THEN 'case.return_requested'
        WHEN 'return_approved' THEN 'case.returned'
        WHEN 'extension_requested' THEN 'case.extension_requested'
        WHEN 'extension_approved' THEN 'case.extended'
        WHEN 'urged' THEN 'case.urged'
        WHEN 'escalated' THEN 'case.escalated'
        WHEN 'replied' THEN CASE WHEN (details ->> 'under_review')::boolean THEN 'case.reply_under_review' ELSE 'case.replied' END
        WHEN 'reply_approved' THEN CASE WHEN (details ->> 'released')::boolean THEN 'case.replied' END
        WHEN 'reply_sent_back' THEN 'case.reply_sent_back'
        WHEN 'visited' THEN 'case.visited'
        WHEN 'reopened' THEN 'case.reopened'
        WHEN 'answered_directly' THEN 'case.closed'
        WHEN 'closed_unreachable' THEN 'case.closed'
        WHEN 'closed_no_visit_needed' THEN 'case.closed'
        WHEN 'closed_after_review' THEN 'case.closed'
        WHEN 'withdrawn' THEN 'case.closed'
        WHEN 'merged' THEN 'case.merged'
        WHEN 'transferred' THEN 'case.transferred'
        WHEN 'supplemented' THEN 'case.supplemented'
    END
$$;

-- Fan-out at commit (DOMAIN §14): a deferred trigger, so the subscriptions are those that exist
-- when the change commits, and a change rolled back leaves no delivery behind. A subscription
-- for a unit hears of the cases that unit has been given.
CREATE FUNCTION case_events_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    hook text := webhook_kind(NEW.kind, NEW.details);
BEGIN
    IF hook IS NOT NULL THEN
        INSERT INTO deliveries (subscription_id, event_id, case_id, kind, next_attempt_at, created_at)
        SELECT s.id, NEW.id, NEW.case_id, hook, NULL, NEW.at
        FROM subscriptions s
        WHERE s.active AND (hook = ANY (s.events) OR '*' = ANY (s.events))
          AND (s.unit_code IS NULL OR EXISTS (
                SELECT FROM assignments a WHERE a.case_id = NEW.case_id AND a.unit_code = s.unit_code))
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER case_events_fan_out AFTER INSERT ON case_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION case_events_fan_out();
