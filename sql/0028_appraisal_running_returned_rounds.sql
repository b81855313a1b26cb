-- The report's running part (sql/0026) left out the open deadlines of a returned or reassigned
-- round by joining each deadline's assignment to the round's other assignments, which the
-- planner made a hash of every assignment of the record: a cost that grew with the history
-- (a sequential scan of assignments on every report of a month still running, and on every
-- handler's own line). It now probes the deadline's own case among the few assignments that
-- were returned or reassigned. The body is sql/0026's but for that condition.
CREATE INDEX assignments_returned_rounds ON assignments (case_id, round) WHERE status IN ('returned', 'reassigned');
CREATE OR REPLACE FUNCTION appraisal_running_figures(p_start timestamptz, p_end timestamptz, p_now timestamptz, p_unit text DEFAULT NULL)
RETURNS SETOF appraisal_sums LANGUAGE sql STABLE AS $$
    WITH running AS MATERIALIZED (
        SELECT d.id, d.case_id, d.assignment_id, d.step, d.unit_code, d.due_at
        FROM deadlines d
        WHERE d.met_at IS NULL AND d.closed_at IS NULL AND d.step IN ('sign', 'contact', 'opinion', 'reply')
          -- Only what can fall in the period: a deadline falls due no earlier than its assignment
          -- was dispatched (DeadlineLedger.open), and a reply's or an opinion's counts by when it
          -- falls due; so the open deadlines of other periods are never probed below.
          AND d.due_at >= p_start AND (d.due_at < p_end OR d.step IN ('sign', 'contact'))
          AND (p_unit IS NULL OR d.unit_code = p_unit)
          AND NOT EXISTS (SELECT FROM cases w WHERE w.id = d.case_id AND w.closure = 'withdrawn')
          -- Not of a round returned with approval or reassigned: probed from the deadline's case
          -- (assignments_returned_rounds), where a join of the deadline's assignment to its round
          -- was planned as a hash of every assignment of the record.
          AND NOT EXISTS (SELECT FROM assignments rr
                          WHERE rr.case_id = d.case_id AND rr.status IN ('returned', 'reassigned')
                            AND rr.round = (SELECT ra.round FROM assignments ra WHERE ra.id = d.assignment_id))
    ), leads AS (
        SELECT a.id, a.dispatched_at, s.unit_code, s.met_at IS NOT NULL AND s.met_at <= s.due_at AS on_time,
               coalesce(s.met_at > s.due_at
                        OR (s.met_at IS NULL AND s.closed_at IS NULL AND s.due_at < p_now)
                        OR (s.met_at IS NULL AND s.closed_reason IN ('replied', 'closed', 'merged', 'taken_back')
                            AND s.closed_at > s.due_at), false) AS late
        FROM assignments a JOIN deadlines s ON s.assignment_id = a.id AND s.step = 'sign'
        WHERE a.id IN (SELECT assignment_id FROM running WHERE step IN ('sign', 'contact'))
          AND a.role = 'lead' AND a.dispatched_at >= p_start AND a.dispatched_at < p_end
    ), responses AS (
        SELECT l.unit_code, l.dispatched_at, l.on_time, l.late,
               NOT EXISTS (SELECT FROM deadlines k WHERE k.assignment_id = l.id AND k.step = 'contact')
               OR EXISTS (SELECT FROM deadlines k WHERE k.assignment_id = l.id AND k.step = 'contact'
                          AND ((k.met_at IS NOT NULL AND k.met_at <= k.due_at)
                               OR (k.met_at IS NULL AND k.closed_reason = 'merged' AND k.closed_at <= k.due_at)))
                   AS contact_made,
               EXISTS (SELECT FROM deadlines k WHERE k.assignment_id = l.id AND k.step = 'contact'
                       AND (k.met_at > k.due_at OR (k.met_at IS NULL AND k.closed_at IS NULL AND k.due_at < p_now)
                            OR (k.met_at IS NULL AND k.closed_at IS NOT NULL
                                AND NOT (k.closed_reason = 'merged' AND k.closed_at <= k.due_at))))
                   AS contact_missed
        FROM leads l
    ), overdue AS (
        SELECT DISTINCT r.unit_code, appraisal_month(r.due_at) AS month, r.case_id
        FROM running r
        WHERE r.step IN ('sign', 'opinion', 'reply') AND r.due_at < p_now AND r.due_at >= p_start AND r.due_at < p_end
          AND NOT EXISTS (SELECT FROM appraisal_facts f WHERE f.case_id = r.case_id AND f.unit = r.unit_code
                          AND f.month = appraisal_month(r.due_at) AND f.overdue = 1)
    ), parts (unit, month, sign_den, response_num, response_den, reply_den, overdue) AS (
        SELECT r.unit_code, appraisal_month(a.dispatched_at), 1, 0, 0, 0, 0
        FROM running r JOIN assignments a ON a.id = r.assignment_id
        WHERE r.step = 'sign' AND r.due_at < p_now AND a.dispatched_at >= p_start AND a.dispatched_at < p_end
        UNION ALL
        SELECT unit_code, appraisal_month(dispatched_at), 0, (on_time AND contact_made)::int,
               ((on_time AND contact_made) OR late OR contact_missed)::int, 0, 0
        FROM responses
        UNION ALL
        SELECT unit_code, appraisal_month(due_at), 0, 0, 0, 1, 0
        FROM running WHERE step = 'reply' AND due_at < p_now AND due_at >= p_start AND due_at < p_end
        UNION ALL
        SELECT unit_code, month, 0, 0, 0, 0, 1 FROM overdue
    )
    SELECT unit, month, 0, sum(sign_den)::int, sum(response_num)::int, sum(response_den)::int, 0, sum(reply_den)::int,
           0, 0, 0, 0, 0, 0, 0, 0, sum(overdue)::int
    FROM parts GROUP BY unit, month
$$;

