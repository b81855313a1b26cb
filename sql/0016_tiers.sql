-- Tiered handling (分级办理, DOMAIN §5a) and the review of replies (§5b).

-- Communities and villages are a group of their own, ranked among themselves.
ALTER TABLE units DROP CONSTRAINT units_unit_group_check;
ALTER TABLE units ADD CONSTRAINT units_unit_group_check
    CHECK (unit_group IN ('city_department', 'district', 'functional_zone', 'town', 'community', 'enterprise'));

-- A dispatcher belongs to no unit (the city center) or to one unit (its sub-center, 分中心).
ALTER TABLE users DROP CONSTRAINT users_handler_has_unit;
ALTER TABLE users ADD CONSTRAINT users_unit_by_role
    CHECK (CASE role WHEN 'handler' THEN unit_code IS NOT NULL WHEN 'dispatcher' THEN true ELSE unit_code IS NULL END);

-- A passed-down assignment is the child of its parent's, on the same case, for a unit whose
-- parent is the parent assignment's unit. It ends `taken_back` when the parent takes the case
-- back; a lead the center reassigns (改派) ends `reassigned`, which, like `returned`, does not
-- count against it.
ALTER TABLE assignments ADD CONSTRAINT assignments_id_case UNIQUE (id, case_id);
ALTER TABLE assignments ADD COLUMN parent_id bigint;
ALTER TABLE assignments ADD CONSTRAINT assignments_parent_same_case
    FOREIGN KEY (parent_id, case_id) REFERENCES assignments (id, case_id);
ALTER TABLE assignments DROP CONSTRAINT assignments_status_check;
ALTER TABLE assignments ADD CONSTRAINT assignments_status_check
    CHECK (status IN ('dispatched', 'signed', 'returned', 'replied', 'done', 'cancelled', 'taken_back', 'reassigned'));
CREATE INDEX assignments_parent ON assignments (parent_id) WHERE parent_id IS NOT NULL;
-- One active lead the center dispatched to per case (as before), and one child lead handling at
-- a time below a parent: two pass-downs at once cannot both land.
DROP INDEX assignments_one_active_lead;
CREATE UNIQUE INDEX assignments_one_active_lead ON assignments (case_id)
    WHERE role = 'lead' AND status IN ('dispatched', 'signed', 'replied') AND parent_id IS NULL;
CREATE UNIQUE INDEX assignments_one_handling_child ON assignments (parent_id)
    WHERE parent_id IS NOT NULL AND role = 'lead' AND status IN ('dispatched', 'signed');

CREATE FUNCTION assignments_direct_child() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL AND NOT EXISTS (
        SELECT FROM assignments p JOIN units u ON u.code = NEW.unit_code
        WHERE p.id = NEW.parent_id AND p.role = 'lead' AND u.parent = p.unit_code
    ) THEN
        RAISE EXCEPTION 'unit % is not directly below the unit of assignment %', NEW.unit_code, NEW.parent_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'assignments_direct_child';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER assignments_direct_child BEFORE INSERT OR UPDATE OF parent_id, unit_code ON assignments
    FOR EACH ROW EXECUTE FUNCTION assignments_direct_child();

-- The time limits of the new steps, per type × urgency (DOMAIN §6). Passed-down steps start as
-- the table's own limits for those steps, as they stand now.
ALTER TABLE time_limits DROP CONSTRAINT time_limits_step_check;
ALTER TABLE category_time_limits DROP CONSTRAINT category_time_limits_step_check;
ALTER TABLE time_limits ADD CONSTRAINT time_limits_step_check CHECK (step IN (
    'sign', 'reply', 'return_window', 'extension', 'opinion', 'visit', 'reopen_reply',
    'passed_down_sign', 'passed_down_reply', 'passed_down_opinion', 'review', 'send_back_reply', 'first_contact'));
ALTER TABLE category_time_limits ADD CONSTRAINT category_time_limits_step_check CHECK (step IN (
    'sign', 'reply', 'return_window', 'extension', 'opinion', 'visit', 'reopen_reply',
    'passed_down_sign', 'passed_down_reply', 'passed_down_opinion', 'review', 'send_back_reply', 'first_contact'));
INSERT INTO time_limits (case_type, urgency, step, amount, unit)
SELECT case_type, urgency, 'passed_down_' || step, amount, unit FROM time_limits WHERE step IN ('sign', 'reply', 'opinion');
INSERT INTO time_limits (case_type, urgency, step, amount, unit)
SELECT t.case_type, u.urgency, s.step,
       CASE WHEN u.urgency = 'normal' THEN s.normal_amount ELSE s.urgent_amount END,
       CASE WHEN u.urgency = 'normal' THEN s.normal_unit ELSE s.urgent_unit END
FROM (SELECT DISTINCT case_type FROM time_limits) t
CROSS JOIN (VALUES ('normal'), ('urgent')) u (urgency)
CROSS JOIN (VALUES ('review', 1, 'working_days', 2, 'hours'),
                   ('send_back_reply', 2, 'working_days', 12, 'hours'),
                   ('first_contact', 24, 'hours', 2, 'hours')) s (step, normal_amount, normal_unit, urgent_amount, urgent_unit);

-- Which replies of a unit the center dispatched to the center reviews itself (§5b), by case
-- type × urgency; a manager edits it.
CREATE TABLE review_policy (
    case_type  text NOT NULL CHECK (case_type IN ('consultation', 'help', 'complaint', 'report', 'suggestion')),
    urgency    text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    center_reviews boolean NOT NULL,
    PRIMARY KEY (case_type, urgency)
);
INSERT INTO review_policy (case_type, urgency, center_reviews)
SELECT t, u, t IN ('complaint', 'report')
FROM unnest(ARRAY['consultation', 'help', 'complaint', 'report', 'suggestion']) t
CROSS JOIN unnest(ARRAY['normal', 'urgent']) u;
GRANT UPDATE ON review_policy TO hotline_runtime;

-- A reply goes up for review before it reaches the citizen: under review by the assignment
-- above the one that wrote it (NULL: by the center), approved, or sent back. Replies made
-- before this migration reached their citizens: approved.
ALTER TABLE replies ADD COLUMN status text NOT NULL DEFAULT 'approved'
    CHECK (status IN ('under_review', 'approved', 'sent_back'));
ALTER TABLE replies ALTER COLUMN status DROP DEFAULT;
ALTER TABLE replies ADD COLUMN reviewer_assignment_id bigint REFERENCES assignments (id);
ALTER TABLE replies ADD CONSTRAINT replies_reviewer_only_under_review
    CHECK (status = 'under_review' OR reviewer_assignment_id IS NULL);
-- One reply under review per case at a time.
CREATE UNIQUE INDEX replies_one_under_review ON replies (case_id) WHERE status = 'under_review';
GRANT UPDATE ON replies TO hotline_runtime;

-- Each level's review of a reply, once per level: a second approval at the same level is
-- refused by this key, whoever races. Append-only, as the timeline is.
CREATE TABLE reply_reviews (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id        bigint NOT NULL REFERENCES cases (id),
    reply_id       bigint NOT NULL REFERENCES replies (id),
    -- The reviewing level: the parent's lead assignment, or NULL for the center.
    assignment_id  bigint REFERENCES assignments (id),
    decision       text NOT NULL CHECK (decision IN ('approved', 'sent_back')),
    reason         text CHECK (char_length(reason) BETWEEN 1 AND 1000),
    reviewed_by    bigint NOT NULL REFERENCES users (id),
    reviewed_at    timestamptz NOT NULL,
    CHECK (decision = 'approved' OR reason IS NOT NULL)
);
CREATE UNIQUE INDEX reply_reviews_once ON reply_reviews (reply_id, coalesce(assignment_id, 0));
CREATE INDEX reply_reviews_case ON reply_reviews (case_id);
CREATE TRIGGER reply_reviews_no_change BEFORE UPDATE OR DELETE ON reply_reviews
    FOR EACH ROW EXECUTE FUNCTION record_is_append_only();
CREATE TRIGGER reply_reviews_no_truncate BEFORE TRUNCATE ON reply_reviews
    FOR EACH STATEMENT EXECUTE FUNCTION record_is_append_only();
ALTER TABLE reply_reviews ENABLE ALWAYS TRIGGER reply_reviews_no_change;
ALTER TABLE reply_reviews ENABLE ALWAYS TRIGGER reply_reviews_no_truncate;

-- The state between a reply and its citizen.
ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check CHECK (status IN (
    'accepted', 'dispatched', 'in_progress', 'return_requested', 'reply_review', 'replied', 'closed', 'merged'));

-- Deadlines of a review (owed by the reviewing assignment's unit, or by the center with no
-- assignment) and of the first contact; both are owed steps with a ladder, the center's review
-- with a card only (nobody urges the center).
ALTER TABLE deadlines DROP CONSTRAINT deadlines_step_check;
ALTER TABLE deadlines ADD CONSTRAINT deadlines_step_check
    CHECK (step IN ('sign', 'reply', 'opinion', 'return', 'visit', 'review', 'contact'));
ALTER TABLE deadlines DROP CONSTRAINT deadlines_check3;
ALTER TABLE deadlines ADD CONSTRAINT deadlines_assignment_by_step
    CHECK (CASE step WHEN 'visit' THEN assignment_id IS NULL WHEN 'review' THEN true ELSE assignment_id IS NOT NULL END);
ALTER TABLE deadlines DROP CONSTRAINT deadlines_ladder_steps;
ALTER TABLE deadlines ADD CONSTRAINT deadlines_ladder_steps
    CHECK ((step IN ('sign', 'reply', 'opinion', 'review', 'contact') AND assignment_id IS NOT NULL) OR ladder_next_at IS NULL);
ALTER TABLE deadlines DROP CONSTRAINT deadlines_closed_reason_check;
ALTER TABLE deadlines ADD CONSTRAINT deadlines_closed_reason_check CHECK (closed_reason IN (
    'returned', 'cancelled', 'replied', 'withdrawn', 'merged', 'closed', 'taken_back', 'reassigned'));
CREATE UNIQUE INDEX deadlines_one_open_center_review ON deadlines (case_id)
    WHERE met_at IS NULL AND closed_at IS NULL AND step = 'review' AND assignment_id IS NULL;
DROP INDEX deadlines_warning;
CREATE INDEX deadlines_warning ON deadlines (warn_at)
    WHERE met_at IS NULL AND closed_at IS NULL AND step IN ('sign', 'reply', 'opinion', 'review', 'contact');

-- First contacts with the citizen (先行联系), recorded by a lead unit's handler.
CREATE TABLE contacts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id        bigint NOT NULL REFERENCES cases (id),
    assignment_id  bigint NOT NULL REFERENCES assignments (id),
    unit_code      text NOT NULL REFERENCES units (code),
    contacted_at   timestamptz NOT NULL,
    method         text NOT NULL CHECK (method IN ('phone', 'visit', 'sms', 'other')),
    note           text CHECK (char_length(note) BETWEEN 1 AND 1000),
    recorded_by    bigint NOT NULL REFERENCES users (id),
    recorded_at    timestamptz NOT NULL
);
-- One first contact per case.
CREATE UNIQUE INDEX contacts_once ON contacts (case_id);
CREATE TRIGGER contacts_no_change BEFORE UPDATE OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION record_is_append_only();
CREATE TRIGGER contacts_no_truncate BEFORE TRUNCATE ON contacts
    FOR EACH STATEMENT EXECUTE FUNCTION record_is_append_only();
ALTER TABLE contacts ENABLE ALWAYS TRIGGER contacts_no_change;
ALTER TABLE contacts ENABLE ALWAYS TRIGGER contacts_no_truncate;
