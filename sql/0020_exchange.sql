-- Cases exchanged with upper platforms and 110 (工单互转, DOMAIN §14).

ALTER TABLE cases DROP CONSTRAINT cases_channel_check, ADD CONSTRAINT cases_channel_check CHECK (channel IN (
    'phone', 'web', 'app', 'wechat', 'sms', 'email', 'letter', 'open311', 'upper_platform', 'police_110'));

-- An exchange client (role exchange) is bound to the one outside system whose cases it sends.
ALTER TABLE users ADD COLUMN exchange_system text CHECK (exchange_system ~ '^[a-z0-9][a-z0-9_.-]{0,31}$');
ALTER TABLE users DROP CONSTRAINT users_role_check, ADD CONSTRAINT users_role_check CHECK (role IN (
    'operator', 'dispatcher', 'handler', 'manager', 'supervisor', 'admin', 'exchange'));
ALTER TABLE users ADD CONSTRAINT users_exchange_system CHECK ((role = 'exchange') = (exchange_system IS NOT NULL));
ALTER TABLE case_events DROP CONSTRAINT case_events_actor_role_check, ADD CONSTRAINT case_events_actor_role_check CHECK (actor_role IN (
    'operator', 'dispatcher', 'handler', 'manager', 'supervisor', 'admin', 'system', 'open311', 'exchange'));

-- A subscription made for an outside system hears only of that system's cases (and of the
-- transfers pushed to it, when the system is 110, 119, 120 or 122); one for a unit, of that
-- unit's; never both.
ALTER TABLE subscriptions ADD COLUMN system text CHECK (system ~ '^[a-z0-9][a-z0-9_.-]{0,31}$'),
    ADD CHECK (system IS NULL OR unit_code IS NULL);

-- Where a case came from. The source's id is unique per system: a unique key, so that the same
-- case sent twice (or by two instances at once) is stored once. The fingerprint is of the body
-- as sent, to tell a repeat from another case under the same id.
CREATE TABLE case_sources (
    case_id      bigint PRIMARY KEY REFERENCES cases (id),
    system       text NOT NULL CHECK (system ~ '^[a-z0-9][a-z0-9_.-]{0,31}$'),
    source_id    text NOT NULL CHECK (char_length(source_id) BETWEEN 1 AND 100),
    deadline     timestamptz,
    report_back  text REFERENCES subscriptions (code),
    fingerprint  bytea NOT NULL CHECK (length(fingerprint) = 32),
    UNIQUE (system, source_id)
);

-- No deadline of such a case passes the source's own (one that starts after it is due at once).
CREATE FUNCTION deadlines_within_source() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    limit_at timestamptz;
BEGIN
    SELECT s.deadline INTO limit_at FROM case_sources s WHERE s.case_id = NEW.case_id;
    IF limit_at IS NOT NULL AND NEW.due_at > greatest(limit_at, NEW.started_at) THEN
        RAISE EXCEPTION 'deadline % of case % passes its source''s deadline %', NEW.due_at, NEW.case_id, limit_at
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER deadlines_within_source BEFORE INSERT OR UPDATE OF due_at ON deadlines
    FOR EACH ROW EXECUTE FUNCTION deadlines_within_source();

-- Fan-out (as 0019) with the outside systems: a system's subscription hears of the kinds it asked
-- for on the cases that system sent; the one a case names to report back to hears of its reply,
-- its end and its reopening whatever its kinds; 110's (119's, …) hears of each transfer to it.
CREATE OR REPLACE FUNCTION case_events_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    source case_sources;
BEGIN
    -- Most events of most cities are heard by no one: nothing more to look up.
    IF NOT EXISTS (SELECT FROM subscriptions WHERE active) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO source FROM case_sources WHERE case_id = NEW.case_id;
    INSERT INTO deliveries (subscription_id, event_id, case_id, kind, next_attempt_at, created_at)
    SELECT s.id, NEW.id, NEW.case_id, k.hook, NULL, NEW.at
    FROM unnest(webhook_kinds(NEW.kind, NEW.details)) WITH ORDINALITY AS k (hook, n), subscriptions s
    WHERE s.active AND CASE
        WHEN s.system IS NULL THEN
            (k.hook = ANY (s.events) OR '*' = ANY (s.events))
            AND (s.unit_code IS NULL OR EXISTS (
                SELECT FROM assignments a WHERE a.case_id = NEW.case_id AND a.unit_code = s.unit_code))
        ELSE
            (source.system IS NOT DISTINCT FROM s.system AND (k.hook = ANY (s.events) OR '*' = ANY (s.events)))
            OR (source.report_back IS NOT DISTINCT FROM s.code AND k.hook IN ('case.replied', 'case.closed', 'case.reopened'))
            OR (k.hook = 'case.transferred' AND NEW.details ->> 'service' = s.system)
        END
    ORDER BY k.n, s.id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
