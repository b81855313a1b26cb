-- Appraisal (DOMAIN §9): editable weights, published reports frozen as revisions, and the
-- indexes the report's queries range over.

CREATE TABLE appraisal_weights (
    id                    boolean PRIMARY KEY DEFAULT true CHECK (id),
    on_time_sign          numeric(5,2) NOT NULL CHECK (on_time_sign >= 0),
    on_time_reply         numeric(5,2) NOT NULL CHECK (on_time_reply >= 0),
    resolution            numeric(5,2) NOT NULL CHECK (resolution >= 0),
    satisfaction          numeric(5,2) NOT NULL CHECK (satisfaction >= 0),
    unreasonable_return   numeric(5,2) NOT NULL CHECK (unreasonable_return >= 0),
    escalation            numeric(5,2) NOT NULL CHECK (escalation >= 0),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    -- The composite score is out of 100.
    CHECK (on_time_sign + on_time_reply + resolution + satisfaction = 100)
);
INSERT INTO appraisal_weights (on_time_sign, on_time_reply, resolution, satisfaction, unreasonable_return, escalation)
VALUES (15, 25, 30, 30, 1, 2);

-- A published report, frozen: the exact bytes served, never recomputed.
CREATE TABLE appraisal_revisions (
    period        text NOT NULL CHECK (period ~ '^[0-9]{4}(-[0-9]{2})?$'),
    revision      integer NOT NULL CHECK (revision >= 1),
    reason        text CHECK (char_length(reason) BETWEEN 1 AND 1000),
    published_at  timestamptz NOT NULL,
    published_by  bigint NOT NULL REFERENCES users (id),
    report        bytea NOT NULL,
    PRIMARY KEY (period, revision),
    CHECK (revision = 1 OR reason IS NOT NULL)
);

CREATE FUNCTION appraisal_revisions_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a published appraisal is frozen: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER appraisal_revisions_frozen BEFORE UPDATE OR DELETE ON appraisal_revisions
    FOR EACH ROW EXECUTE FUNCTION appraisal_revisions_frozen();

CREATE INDEX assignments_dispatched ON assignments (dispatched_at);
CREATE INDEX deadlines_due ON deadlines (step, due_at);
CREATE INDEX replies_time ON replies (replied_at);
CREATE INDEX visits_time ON visits (visited_at) WHERE reached;
CREATE INDEX return_requests_rejected ON return_requests (reviewed_at) WHERE status = 'rejected';
CREATE INDEX case_events_reopened ON case_events (at) WHERE kind = 'reopened';
