-- One timeline event may be heard as several webhook kinds: a satisfied visit, a transfer and a
-- merge also end the case (case.closed), and a reassignment (改派) is a dispatch to a new lead.
-- A delivery is one event of one kind to one subscription.
CREATE FUNCTION webhook_kinds(kind text, details jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind
        WHEN 'accepted' THEN '{case.accepted}'
        WHEN 'dispatched' THEN '{case.dispatched}'
        WHEN 'reassigned' THEN '{case.dispatched}'
        WHEN 'passed_down' THEN '{case.passed_down}'
        WHEN 'signed' THEN '{case.signed}'
        WHEN 'contacted' THEN '{case.first_contact}'
        WHEN 'return_requested' THEN '{case.return_requested}'
        WHEN 'return_approved' THEN '{case.returned}'
        WHEN 'extension_requested' THEN '{case.extension_requested}'
        WHEN 'extension_approved' THEN '{case.extended}'
        WHEN 'urged' THEN '{case.urged}'
        WHEN 'escalated' THEN '{case.escalated}'
        -- Compared as JSON: a detail that is not a boolean is not true, and no cast can fail.
        WHEN 'replied' THEN CASE WHEN details -> 'under_review' = 'true'::jsonb
                                 THEN '{case.reply_under_review}' ELSE '{case.replied}' END
        WHEN 'reply_approved' THEN CASE WHEN details -> 'released' = 'true'::jsonb THEN '{case.replied}' ELSE '{}' END
        WHEN 'reply_sent_back' THEN '{case.reply_sent_back}'
        WHEN 'visited' THEN CASE WHEN details ->> 'satisfaction' IN ('satisfied', 'basically_satisfied')
                                 THEN '{case.visited,case.closed}' ELSE '{case.visited}' END
        WHEN 'reopened' THEN '{case.reopened}'
        WHEN 'answered_directly' THEN '{case.closed}'
        WHEN 'closed_unreachable' THEN '{case.closed}'
        WHEN 'closed_no_visit_needed' THEN '{case.closed}'
        WHEN 'closed_after_review' THEN '{case.closed}'
        WHEN 'withdrawn' THEN '{case.closed}'
        WHEN 'merged' THEN '{case.merged,case.closed}'
        WHEN 'transferred' THEN '{case.transferred,case.closed}'
        WHEN 'supplemented' THEN '{case.supplemented}'
        ELSE '{}'
    END::text[]
$$;

ALTER TABLE deliveries DROP CONSTRAINT deliveries_subscription_id_event_id_key;
ALTER TABLE deliveries ADD UNIQUE (subscription_id, event_id, kind);

CREATE OR REPLACE FUNCTION case_events_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deliveries (subscription_id, event_id, case_id, kind, next_attempt_at, created_at)
    SELECT s.id, NEW.id, NEW.case_id, hook, NULL, NEW.at
    FROM unnest(webhook_kinds(NEW.kind, NEW.details)) WITH ORDINALITY AS k (hook, n), subscriptions s
    WHERE s.active AND (hook = ANY (s.events) OR '*' = ANY (s.events))
      AND (s.unit_code IS NULL OR EXISTS (
            SELECT FROM assignments a WHERE a.case_id = NEW.case_id AND a.unit_code = s.unit_code))
    -- In the order the kinds are listed (visited, then closed): a case's deliveries go in id order.
    ORDER BY k.n, s.id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

DROP FUNCTION webhook_kind(text, jsonb);

-- The resend of a parked delivery: when, and by which administrator (none: from the command line,
-- by whoever holds the database). Its age for the policy counts from then, not from the event.
ALTER TABLE deliveries ADD COLUMN resent_at timestamptz, ADD COLUMN resent_by bigint REFERENCES users (id),
    ADD CHECK (resent_at IS NOT NULL OR resent_by IS NULL);
CREATE INDEX deliveries_parked ON deliveries (id) WHERE status = 'parked';
