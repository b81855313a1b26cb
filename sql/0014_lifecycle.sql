-- The lifecycle as one table (DOMAIN §5 "Rules that hold across the steps").

-- The ladder of a deadline starts in the code that climbs it (UrgingLadder), not in a trigger.
-- Dropped first: the backfill below must not have a ladder started for it.
DROP TRIGGER deadlines_ladder_start ON deadlines;
DROP FUNCTION deadlines_ladder_start();

-- Every time limit is a deadline: the window for a return too, so that a calendar load
-- recomputes it and it carries `provisional`. It has no ladder and no card: nobody is urged to
-- return a case. Open windows of today's assignments are backfilled with the limit that set
-- them (the nearest category override up the tree, else the table), provisional where they end
-- past the last loaded calendar year.
ALTER TABLE deadlines DROP CONSTRAINT deadlines_step_check;
ALTER TABLE deadlines ADD CONSTRAINT deadlines_step_check CHECK (step IN ('sign', 'reply', 'opinion', 'return', 'visit'));
INSERT INTO deadlines (case_id, assignment_id, unit_code, step, started_at, limit_amount, limit_unit, warn_at, due_at, provisional)
SELECT a.case_id, a.id, a.unit_code, 'return', a.dispatched_at, coalesce(o.amount, t.amount), coalesce(o.unit, t.unit),
       a.return_until, a.return_until,
       a.return_until > coalesce((SELECT make_timestamptz(max(year), 12, 31, 23, 59, 59, 'Asia/Shanghai') FROM calendar_years), '-infinity')
FROM assignments a
JOIN cases c ON c.id = a.case_id
JOIN time_limits t ON t.case_type = c.case_type AND t.urgency = c.urgency AND t.step = 'return_window'
LEFT JOIN LATERAL (
    WITH RECURSIVE up (code, depth) AS (
        SELECT c.category, 0
        UNION ALL
        SELECT k.parent, up.depth + 1 FROM categories k JOIN up ON k.code = up.code WHERE k.parent IS NOT NULL
    )
    SELECT l.amount, l.unit FROM category_time_limits l JOIN up ON up.code = l.category
    WHERE l.urgency = c.urgency AND l.step = 'return_window'
    ORDER BY up.depth LIMIT 1
) o ON true
WHERE a.return_until IS NOT NULL AND a.status IN ('dispatched', 'signed')
  AND NOT EXISTS (SELECT FROM return_requests r WHERE r.assignment_id = a.id);

-- A deadline that moves starts a new ladder round: its card and its urgings are computed again
-- from the new due time, and what the earlier round wrote stays where it was written.
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

-- A request lapses with what it asked about: an extension request when the unit replies, when
-- its assignment ends or when its deadline passes unreviewed (it can never move a later
-- deadline); a return request when its assignment ends another way (a merge, a withdrawal).
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
ALTER TABLE return_requests DROP CONSTRAINT return_requests_status_check;
ALTER TABLE return_requests ADD CONSTRAINT return_requests_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'lapsed'));
UPDATE return_requests r SET status = 'lapsed', reviewed_at = coalesce(a.ended_at, now())
FROM assignments a
WHERE a.id = r.assignment_id AND r.status = 'pending' AND a.status IN ('cancelled', 'returned', 'done', 'replied');

-- A pending return pauses the unit's ladder: the sweep looks this up for every due row.
CREATE INDEX return_requests_pending ON return_requests (assignment_id) WHERE status = 'pending';

-- Times are whole seconds (DOMAIN §5): what the API shows is what was compared. The times the
-- service keeps and changes are truncated; the append-only record is compared as it stands.
UPDATE deadlines SET met_at = date_trunc('second', met_at), closed_at = date_trunc('second', closed_at),
                     started_at = date_trunc('second', started_at)
WHERE met_at <> date_trunc('second', met_at) OR closed_at <> date_trunc('second', closed_at)
   OR started_at <> date_trunc('second', started_at);
UPDATE assignments SET dispatched_at = date_trunc('second', dispatched_at), signed_at = date_trunc('second', signed_at),
                       ended_at = date_trunc('second', ended_at)
WHERE dispatched_at <> date_trunc('second', dispatched_at) OR signed_at <> date_trunc('second', signed_at)
   OR ended_at <> date_trunc('second', ended_at);
UPDATE cases SET accepted_at = date_trunc('second', accepted_at), closed_at = date_trunc('second', closed_at)
WHERE accepted_at <> date_trunc('second', accepted_at) OR closed_at <> date_trunc('second', closed_at);
UPDATE replies SET replied_at = date_trunc('second', replied_at) WHERE replied_at <> date_trunc('second', replied_at);
UPDATE visits SET visited_at = date_trunc('second', visited_at) WHERE visited_at <> date_trunc('second', visited_at);
UPDATE return_requests SET requested_at = date_trunc('second', requested_at), reviewed_at = date_trunc('second', reviewed_at)
WHERE requested_at <> date_trunc('second', requested_at) OR reviewed_at <> date_trunc('second', reviewed_at);
UPDATE extension_requests SET requested_at = date_trunc('second', requested_at), reviewed_at = date_trunc('second', reviewed_at)
WHERE requested_at <> date_trunc('second', requested_at) OR reviewed_at <> date_trunc('second', reviewed_at);
