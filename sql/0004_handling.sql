-- Handling (DOMAIN §5, §6): dispatch rounds, the deadline ledger, return and extension
-- requests, assisting opinions, replies, return visits, reopening, exemption and merging.

ALTER TABLE cases
    ADD COLUMN dispatch_round    integer NOT NULL DEFAULT 0 CHECK (dispatch_round >= 0),
    ADD COLUMN approved_returns  integer NOT NULL DEFAULT 0 CHECK (approved_returns >= 0),
    ADD COLUMN reopen_count      integer NOT NULL DEFAULT 0 CHECK (reopen_count BETWEEN 0 AND 2),
    ADD COLUMN exempt_reason     text CHECK (char_length(exempt_reason) BETWEEN 1 AND 500),
    ADD COLUMN merged_into       bigint REFERENCES cases (id),
    ADD COLUMN status_before_return text CHECK (status_before_return IN ('dispatched', 'in_progress')),
    ADD CONSTRAINT cases_merged CHECK ((status = 'merged') <= (merged_into IS NOT NULL)),
    ADD CONSTRAINT cases_not_own_master CHECK (merged_into IS DISTINCT FROM id);
CREATE INDEX cases_merged_into ON cases (merged_into) WHERE merged_into IS NOT NULL;

-- An assignment belongs to a dispatch round; a designated one (指定派单) cannot be returned.
ALTER TABLE assignments
    ADD COLUMN round          integer NOT NULL DEFAULT 1 CHECK (round >= 1),
    ADD COLUMN designated     boolean NOT NULL DEFAULT false,
    ADD COLUMN return_until   timestamptz,
    ADD COLUMN signed_at      timestamptz,
    ADD COLUMN signed_by      bigint REFERENCES users (id),
    ADD COLUMN ended_at       timestamptz,
    ADD CONSTRAINT assignments_signed CHECK ((signed_at IS NULL) = (signed_by IS NULL)),
    ADD CONSTRAINT assignments_lead_window CHECK (role = 'lead' OR return_until IS NULL);
-- One active lead per case: the database, not the application, keeps "whoever handles it answers it" single.
CREATE UNIQUE INDEX assignments_one_active_lead ON assignments (case_id)
    WHERE role = 'lead' AND status IN ('dispatched', 'signed', 'replied');
-- A unit takes part in a round once.
CREATE UNIQUE INDEX assignments_unit_once_per_round ON assignments (case_id, round, unit_code);

-- Every time limit a unit (or the center, for visits) must meet: when it started, the limit it
-- runs on, when it warns (yellow card) and falls due (red card), and whether and when it was
-- met. Kept rather than derived so that appraisal counts each one, a calendar reload can
-- recompute the open ones, and supervision reads only what is due.
CREATE TABLE deadlines (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id        bigint NOT NULL REFERENCES cases (id),
    assignment_id  bigint REFERENCES assignments (id),
    unit_code      text REFERENCES units (code),
    step           text NOT NULL CHECK (step IN ('sign', 'reply', 'opinion', 'visit')),
    started_at     timestamptz NOT NULL,
    limit_amount   integer NOT NULL CHECK (limit_amount > 0),
    limit_unit     text NOT NULL CHECK (limit_unit IN ('working_days', 'hours', 'minutes')),
    extended_days  integer NOT NULL DEFAULT 0 CHECK (extended_days BETWEEN 0 AND 250),
    warn_at        timestamptz NOT NULL,
    due_at         timestamptz NOT NULL,
    provisional    boolean NOT NULL,
    met_at         timestamptz,
    -- Ended without being met: the assignment was returned, cancelled or made moot.
    closed_at      timestamptz,
    closed_reason  text CHECK (closed_reason IN ('returned', 'cancelled', 'replied', 'withdrawn', 'merged', 'closed')),
    CHECK (warn_at <= due_at),
    CHECK (met_at IS NULL OR closed_at IS NULL),
    CHECK ((closed_at IS NULL) = (closed_reason IS NULL)),
    CHECK ((step = 'visit') = (assignment_id IS NULL)),
    CHECK ((assignment_id IS NULL) = (unit_code IS NULL))
);
CREATE INDEX deadlines_case ON deadlines (case_id);
CREATE INDEX deadlines_assignment ON deadlines (assignment_id);
CREATE INDEX deadlines_open_due ON deadlines (due_at) WHERE met_at IS NULL AND closed_at IS NULL;
-- One open deadline per assignment and step.
CREATE UNIQUE INDEX deadlines_one_open ON deadlines (assignment_id, step)
    WHERE met_at IS NULL AND closed_at IS NULL AND assignment_id IS NOT NULL;
CREATE UNIQUE INDEX deadlines_one_open_visit ON deadlines (case_id)
    WHERE met_at IS NULL AND closed_at IS NULL AND step = 'visit';

-- 退单: the lead unit asks to give the case back.
CREATE TABLE return_requests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES cases (id),
    assignment_id   bigint NOT NULL REFERENCES assignments (id),
    unit_code       text NOT NULL REFERENCES units (code),
    reason          text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    suggested_unit  text REFERENCES units (code),
    requested_at    timestamptz NOT NULL,
    requested_by    bigint NOT NULL REFERENCES users (id),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reviewed_at     timestamptz,
    reviewed_by     bigint REFERENCES users (id),
    review_reason   text CHECK (char_length(review_reason) BETWEEN 1 AND 1000),
    CHECK ((status = 'pending') = (reviewed_at IS NULL)),
    CHECK (status <> 'rejected' OR review_reason IS NOT NULL)
);
CREATE INDEX return_requests_case ON return_requests (case_id);
-- One return request per assignment.
CREATE UNIQUE INDEX return_requests_once ON return_requests (assignment_id);

-- 延期: once per assignment, at most the limit's working days.
CREATE TABLE extension_requests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES cases (id),
    assignment_id   bigint NOT NULL REFERENCES assignments (id),
    unit_code       text NOT NULL REFERENCES units (code),
    working_days    integer NOT NULL CHECK (working_days BETWEEN 1 AND 250),
    reason          text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    requested_at    timestamptz NOT NULL,
    requested_by    bigint NOT NULL REFERENCES users (id),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    approved_days   integer CHECK (approved_days BETWEEN 1 AND 250),
    reviewed_at     timestamptz,
    reviewed_by     bigint REFERENCES users (id),
    review_reason   text CHECK (char_length(review_reason) BETWEEN 1 AND 1000),
    CHECK ((status = 'pending') = (reviewed_at IS NULL)),
    CHECK ((status = 'approved') = (approved_days IS NOT NULL)),
    CHECK (approved_days IS NULL OR approved_days <= working_days)
);
CREATE INDEX extension_requests_case ON extension_requests (case_id);
CREATE UNIQUE INDEX extension_requests_once ON extension_requests (assignment_id);

-- 协办意见: to the lead unit, never to the citizen.
CREATE TABLE opinions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id        bigint NOT NULL REFERENCES cases (id),
    assignment_id  bigint NOT NULL REFERENCES assignments (id),
    unit_code      text NOT NULL REFERENCES units (code),
    text           text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 4000),
    given_at       timestamptz NOT NULL,
    given_by       bigint NOT NULL REFERENCES users (id)
);
CREATE INDEX opinions_case ON opinions (case_id);

-- 答复: the lead unit's own answer to the citizen, naming the unit and the handler.
CREATE TABLE replies (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id            bigint NOT NULL REFERENCES cases (id),
    assignment_id      bigint NOT NULL REFERENCES assignments (id),
    unit_code          text NOT NULL REFERENCES units (code),
    outcome            text NOT NULL CHECK (outcome IN ('resolved', 'partly_resolved', 'unresolved', 'explained')),
    text               text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 4000),
    contacted_citizen  boolean NOT NULL,
    handler_id         bigint NOT NULL REFERENCES users (id),
    handler_name       text NOT NULL CHECK (char_length(handler_name) BETWEEN 1 AND 50),
    handler_phone      text NOT NULL CHECK (handler_phone ~ '^\+?[0-9]{5,20}$'),
    replied_at         timestamptz NOT NULL
);
CREATE INDEX replies_case ON replies (case_id);

-- The reply a case's citizen receives: its own lead unit's, or its master's when merged.
ALTER TABLE cases ADD COLUMN reply_id bigint REFERENCES replies (id);

-- 回访: the center calls back. An attempt that does not reach the citizen is a visit too.
CREATE TABLE visits (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id       bigint NOT NULL REFERENCES cases (id),
    reply_id      bigint NOT NULL REFERENCES replies (id),
    visited_at    timestamptz NOT NULL,
    visited_by    bigint NOT NULL REFERENCES users (id),
    reached       boolean NOT NULL,
    satisfaction  text CHECK (satisfaction IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    resolved      boolean,
    note          text CHECK (char_length(note) BETWEEN 1 AND 1000),
    CHECK (reached = (satisfaction IS NOT NULL)),
    CHECK (reached = (resolved IS NOT NULL))
);
CREATE INDEX visits_case ON visits (case_id, id);
