-- The lifecycle as one table (DOMAIN §5 "Rules that hold across the steps").

-- Every time limit is a deadline: the window for a return too, so that a calendar load
-- recomputes it and it carries `provisional`. It has no ladder and no card: nobody is urged to
-- return a case.
ALTER TABLE deadlines DROP CONSTRAINT deadlines_step_check;
ALTER TABLE deadlines ADD CONSTRAINT deadlines_step_check CHECK (step IN ('sign', 'reply', 'opinion', 'return', 'visit'));
INSERT INTO deadlines (case_id, assignment_id, unit_code, step, started_at, limit_amount, limit_unit, warn_at, due_at, provisional)
SELECT a.case_id, a.id, a.unit_code, 'return', a.dispatched_at, 1, 'working_days', a.return_until, a.return_until, false
FROM assignments a
WHERE a.return_until IS NOT NULL AND a.status IN ('dispatched', 'signed')
  AND NOT EXISTS (SELECT FROM return_requests r WHERE r.assignment_id = a.id);

-- The ladder of a deadline starts in the code that climbs it (UrgingLadder), not in a trigger.
-- A deadline that moves starts a new ladder round: its card and its urgings are computed again
-- from the new due time, and what the earlier round wrote stays where it was written.
DROP TRIGGER deadlines_ladder_start ON deadlines;
DROP FUNCTION deadlines_ladder_start();
ALTER TABLE deadlines ADD COLUMN ladder_round smallint NOT NULL DEFAULT 1 CHECK (ladder_round >= 1);
ALTER TABLE deadlines ADD CONSTRAINT deadlines_ladder_steps
    CHECK (step IN ('sign', 'reply', 'opinion') OR ladder_next_at IS NULL);
ALTER TABLE urgings ADD COLUMN ladder_round smallint NOT NULL DEFAULT 1;
ALTER TABLE urgings DROP CONSTRAINT urgings_deadline_id_level_key;
ALTER TABLE urgings ADD CONSTRAINT urgings_once UNIQUE (deadline_id, ladder_round, level);
ALTER TABLE escalations ADD COLUMN ladder_round smallint NOT NULL DEFAULT 1;
ALTER TABLE escalations DROP CONSTRAINT escalations_deadline_id_key;
ALTER TABLE escalations ADD CONSTRAINT escalations_once UNIQUE (deadline_id, ladder_round);
-- The warning list reads the steps a unit owes, through this index.
DROP INDEX deadlines_warning;
CREATE INDEX deadlines_warning ON deadlines (warn_at)
    WHERE met_at IS NULL AND closed_at IS NULL AND step IN ('sign', 'reply', 'opinion');

-- A request lapses with the deadline it asked about: when the unit replies, when its
-- assignment ends, or when the deadline passes unreviewed. It can never move a later deadline.
ALTER TABLE extension_requests ADD COLUMN deadline_id bigint REFERENCES deadlines (id);
UPDATE extension_requests e SET deadline_id = (
    SELECT d.id FROM deadlines d WHERE d.assignment_id = e.assignment_id AND d.step = 'reply' AND d.started_at <= e.requested_at
    ORDER BY d.started_at DESC, d.id DESC LIMIT 1);
ALTER TABLE extension_requests DROP CONSTRAINT extension_requests_status_check;
ALTER TABLE extension_requests ADD CONSTRAINT extension_requests_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'lapsed'));
UPDATE extension_requests e SET status = 'lapsed', reviewed_at = coalesce(d.met_at, d.closed_at, d.due_at)
FROM deadlines d
WHERE d.id = e.deadline_id AND e.status = 'pending' AND (d.met_at IS NOT NULL OR d.closed_at IS NOT NULL);
CREATE INDEX extension_requests_pending ON extension_requests (deadline_id) WHERE status = 'pending';

-- A pending return pauses the unit's ladder: the sweep looks this up for every due row.
CREATE INDEX return_requests_pending ON return_requests (assignment_id) WHERE status = 'pending';

-- Merging keeps what was missed: a deadline closed by a merge after it had passed is late.
-- (The appraisal reads `closed_reason` and `closed_at`; nothing to change in the rows.)
