-- Appraisal from facts kept as the record changes (DOMAIN §9; issue 15). A report of a month
-- or a year reads monthly sums per unit instead of recounting the whole history.
--
-- Every figure of DOMAIN §9 is a function of one case's record (its assignments, deadlines,
-- replies and their reviews, visits, requests, escalations, withdrawal and exemption). So each
-- case keeps its *settled* figures per (unit, month): what no longer depends on the clock.
-- Whenever an event is written for a case (every change of the record writes one: the
-- lifecycle table's rule), its figures are computed again at COMMIT and the difference is added
-- to the month's sums, so a withdrawal, an exemption, an approved return or a merge in June
-- changes March's sums in the same transaction. A deadline still running is not settled: met
-- or not, its figure depends on the hour the report is read at, so the report adds what the
-- running deadlines say at that hour (few: they are the open cases' only) to the sums.
--
-- The rules below restate the recount of Sources/HotlineCore/Appraisal/AppraisalRecord.swift,
-- which stays as the oracle (`hotline appraisal check`, and the facts-versus-recount test).
-- Only the database writes these tables: the service's role may read them.

CREATE TABLE appraisal_sums (
    unit              text NOT NULL REFERENCES units (code),
    month             date NOT NULL CHECK (month = date_trunc('month', month)::date),
    sign_num          integer NOT NULL DEFAULT 0,
    sign_den          integer NOT NULL DEFAULT 0,
    response_num      integer NOT NULL DEFAULT 0,
    response_den      integer NOT NULL DEFAULT 0,
    reply_num         integer NOT NULL DEFAULT 0,
    reply_den         integer NOT NULL DEFAULT 0,
    rated             integer NOT NULL DEFAULT 0,
    satisfied         integer NOT NULL DEFAULT 0,
    resolved          integer NOT NULL DEFAULT 0,
    reopens           integer NOT NULL DEFAULT 0,
    replies           integer NOT NULL DEFAULT 0,
    rejected_returns  integer NOT NULL DEFAULT 0,
    escalations       integer NOT NULL DEFAULT 0,
    sent_back         integer NOT NULL DEFAULT 0,
    -- Cases with a settled missed deadline of the unit falling in the month.
    overdue           integer NOT NULL DEFAULT 0,
    PRIMARY KEY (month, unit)
);

-- One case's settled figures; `overdue` is 0 or 1 (the case is overdue for the unit that month).
CREATE TABLE appraisal_facts (
    case_id           bigint NOT NULL REFERENCES cases (id),
    unit              text NOT NULL,
    month             date NOT NULL,
    sign_num          integer NOT NULL,
    sign_den          integer NOT NULL,
    response_num      integer NOT NULL,
    response_den      integer NOT NULL,
    reply_num         integer NOT NULL,
    reply_den         integer NOT NULL,
    rated             integer NOT NULL,
    satisfied         integer NOT NULL,
    resolved          integer NOT NULL,
    reopens           integer NOT NULL,
    replies           integer NOT NULL,
    rejected_returns  integer NOT NULL,
    escalations       integer NOT NULL,
    sent_back         integer NOT NULL,
    overdue           integer NOT NULL CHECK (overdue IN (0, 1))
);
CREATE INDEX appraisal_facts_case ON appraisal_facts (case_id);

REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON appraisal_sums, appraisal_facts FROM hotline_runtime;

-- The Asia/Shanghai month a time falls in.
CREATE FUNCTION appraisal_month(t timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc('month', t AT TIME ZONE 'Asia/Shanghai')::date
$$;

-- The settled figures of one case, per unit and month (the recount's rules, one case at a time,
-- leaving out each deadline still running and each lead with a running sign or contact deadline).
CREATE FUNCTION appraisal_case_figures(c bigint) RETURNS SETOF appraisal_sums LANGUAGE sql STABLE AS $$
    WITH kept AS (
        -- Withdrawn cases are out of every figure.
        SELECT exempt_reason IS NOT NULL AS exempt FROM cases WHERE id = c AND closure IS DISTINCT FROM 'withdrawn'
    ), returned_rounds AS (
        -- Nothing of a dispatch round returned with approval or reassigned counts.
        SELECT DISTINCT round FROM assignments WHERE case_id = c AND status IN ('returned', 'reassigned')
    ), a AS (
        SELECT a.id, a.role, a.unit_code, a.dispatched_at, a.round IN (SELECT round FROM returned_rounds) AS returned
        FROM assignments a WHERE a.case_id = c AND EXISTS (SELECT FROM kept)
    ), d AS (
        SELECT d.id, d.assignment_id, d.step, d.unit_code, d.due_at, d.met_at, d.closed_at, d.closed_reason,
               coalesce(a.returned, false) AS returned,
               d.met_at IS NOT NULL AND d.met_at <= d.due_at AS on_time,
               coalesce(d.met_at > d.due_at
                        OR (d.met_at IS NULL AND d.closed_reason IN ('replied', 'closed', 'merged', 'taken_back')
                            AND d.closed_at > d.due_at), false) AS late,
               d.met_at IS NULL AND d.closed_at IS NULL AS running
        FROM deadlines d LEFT JOIN a ON a.id = d.assignment_id
        WHERE d.case_id = c AND EXISTS (SELECT FROM kept)
    ), leads AS (
        -- A lead's response: signed on time and, where a first contact was owed, contacted on
        -- time; a contact closed unmet is a contact missed unless the case was merged away
        -- before it was due.
        SELECT s.unit_code, a.dispatched_at, s.on_time, s.late,
               NOT EXISTS (SELECT FROM d k WHERE k.assignment_id = a.id AND k.step = 'contact')
               OR EXISTS (SELECT FROM d k WHERE k.assignment_id = a.id AND k.step = 'contact'
                          AND (k.on_time OR (k.met_at IS NULL AND k.closed_reason = 'merged' AND k.closed_at <= k.due_at)))
                   AS contact_made,
               EXISTS (SELECT FROM d k WHERE k.assignment_id = a.id AND k.step = 'contact'
                       AND (k.met_at > k.due_at
                            OR (k.met_at IS NULL AND k.closed_at IS NOT NULL
                                AND NOT (k.closed_reason = 'merged' AND k.closed_at <= k.due_at))))
                   AS contact_missed
        FROM a JOIN d s ON s.assignment_id = a.id AND s.step = 'sign'
        WHERE a.role = 'lead' AND NOT a.returned AND NOT s.running
          AND NOT EXISTS (SELECT FROM d k WHERE k.assignment_id = a.id AND k.step = 'contact' AND k.running)
    ), latest AS (
        -- The latest rating of the case in each month (an exempted case is not rated).
        SELECT DISTINCT ON (appraisal_month(v.visited_at)) appraisal_month(v.visited_at) AS month,
               v.reply_id, v.satisfaction, v.resolved
        FROM visits v
        WHERE v.case_id = c AND v.reached AND EXISTS (SELECT FROM kept WHERE NOT exempt)
        ORDER BY appraisal_month(v.visited_at), v.visited_at DESC, v.id DESC
    ), parts (unit, month, sign_num, sign_den, response_num, response_den, reply_num, reply_den, rated, satisfied, resolved,
              reopens, replies, rejected_returns, escalations, sent_back, overdue) AS (
        SELECT s.unit_code, appraisal_month(a.dispatched_at), s.on_time::int, (s.on_time OR s.late)::int,
               0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        FROM a JOIN d s ON s.assignment_id = a.id AND s.step = 'sign'
        WHERE NOT a.returned AND NOT s.running
        UNION ALL
        SELECT unit_code, appraisal_month(dispatched_at), 0, 0, (on_time AND contact_made)::int,
               ((on_time AND contact_made) OR late OR contact_missed)::int, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        FROM leads
        UNION ALL
        SELECT unit_code, appraisal_month(due_at), 0, 0, 0, 0, on_time::int, (on_time OR late)::int, 0, 0, 0, 0, 0, 0, 0, 0, 0
        FROM d WHERE step = 'reply' AND NOT returned AND NOT running
        UNION ALL
        -- A rating counts for the unit whose reply it rated and every level that approved it.
        SELECT u.unit, latest.month, 0, 0, 0, 0, 0, 0, 1,
               (latest.satisfaction IN ('satisfied', 'basically_satisfied'))::int, latest.resolved::int, 0, 0, 0, 0, 0, 0
        FROM latest JOIN LATERAL (
            SELECT r.unit_code AS unit FROM replies r WHERE r.id = latest.reply_id
            UNION
            SELECT a.unit_code FROM reply_reviews rv JOIN assignments a ON a.id = rv.assignment_id
            WHERE rv.reply_id = latest.reply_id AND rv.decision = 'approved'
        ) u ON true
        UNION ALL
        SELECT e.unit_code, appraisal_month(e.at), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0
        FROM case_events e WHERE e.case_id = c AND e.kind = 'reopened' AND e.unit_code IS NOT NULL AND EXISTS (SELECT FROM kept)
        UNION ALL
        SELECT r.unit_code, appraisal_month(r.replied_at), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0
        FROM replies r WHERE r.case_id = c AND r.status = 'approved' AND EXISTS (SELECT FROM kept)
        UNION ALL
        SELECT q.unit_code, appraisal_month(q.reviewed_at), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0
        FROM return_requests q WHERE q.case_id = c AND q.status = 'rejected' AND EXISTS (SELECT FROM kept)
        UNION ALL
        SELECT e.unit_code, appraisal_month(e.escalated_at), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0
        FROM escalations e JOIN d ON d.id = e.deadline_id AND NOT d.returned
        WHERE e.case_id = c
        UNION ALL
        SELECT r.unit_code, appraisal_month(rv.reviewed_at), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0
        FROM replies r JOIN reply_reviews rv ON rv.reply_id = r.id AND rv.decision = 'sent_back'
        WHERE r.case_id = c AND EXISTS (SELECT FROM kept)
          AND NOT EXISTS (SELECT FROM a WHERE a.id = r.assignment_id AND a.returned)
        UNION ALL
        SELECT unit_code, appraisal_month(due_at), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
        FROM d WHERE step IN ('sign', 'opinion', 'reply') AND NOT returned AND late
    )
    SELECT unit, month, sum(sign_num)::int, sum(sign_den)::int, sum(response_num)::int, sum(response_den)::int,
           sum(reply_num)::int, sum(reply_den)::int, sum(rated)::int, sum(satisfied)::int, sum(resolved)::int,
           sum(reopens)::int, sum(replies)::int, sum(rejected_returns)::int, sum(escalations)::int, sum(sent_back)::int,
           max(overdue)::int
    FROM parts
    GROUP BY unit, month
    HAVING sum(sign_den + response_den + reply_den + rated + reopens + replies + rejected_returns + escalations
               + sent_back + overdue) > 0
    ORDER BY unit, month
$$;

-- What the running deadlines say at `now` of the months in [p_start, p_end): added to the sums
-- by the report. `overdue` counts the cases a running deadline makes overdue that their settled
-- figures do not already count.
CREATE FUNCTION appraisal_running_figures(p_start timestamptz, p_end timestamptz, p_now timestamptz)
RETURNS SETOF appraisal_sums LANGUAGE sql STABLE AS $$
    WITH running AS MATERIALIZED (
        SELECT d.id, d.case_id, d.assignment_id, d.step, d.unit_code, d.due_at
        FROM deadlines d
        WHERE d.met_at IS NULL AND d.closed_at IS NULL AND d.step IN ('sign', 'contact', 'opinion', 'reply')
          AND NOT EXISTS (SELECT FROM cases w WHERE w.id = d.case_id AND w.closure = 'withdrawn')
          AND NOT EXISTS (SELECT FROM assignments ra JOIN assignments rr
                            ON rr.case_id = ra.case_id AND rr.round = ra.round AND rr.status IN ('returned', 'reassigned')
                          WHERE ra.id = d.assignment_id)
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

-- Computes a case's settled figures again and adds the difference to the sums, in (month, unit)
-- order so that two transactions touching the same months take their rows in the same order.
CREATE FUNCTION appraisal_refresh(c bigint) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    fresh appraisal_sums[];
    stale appraisal_sums[];
BEGIN
    SELECT coalesce(array_agg(f ORDER BY f.unit, f.month), '{}') INTO fresh FROM appraisal_case_figures(c) f;
    SELECT coalesce(array_agg(ROW(f.unit, f.month, f.sign_num, f.sign_den, f.response_num, f.response_den, f.reply_num,
                                  f.reply_den, f.rated, f.satisfied, f.resolved, f.reopens, f.replies, f.rejected_returns,
                                  f.escalations, f.sent_back, f.overdue)::appraisal_sums ORDER BY f.unit, f.month), '{}')
    INTO stale FROM appraisal_facts f WHERE f.case_id = c;
    IF fresh = stale THEN
        RETURN;
    END IF;
    DELETE FROM appraisal_facts WHERE case_id = c;
    INSERT INTO appraisal_facts SELECT c, x.* FROM unnest(fresh) x;
    INSERT INTO appraisal_sums AS s
    SELECT unit, month, sum(sign_num), sum(sign_den), sum(response_num), sum(response_den), sum(reply_num), sum(reply_den),
           sum(rated), sum(satisfied), sum(resolved), sum(reopens), sum(replies), sum(rejected_returns), sum(escalations),
           sum(sent_back), sum(overdue)
    FROM (SELECT * FROM unnest(fresh)
          UNION ALL
          SELECT unit, month, -sign_num, -sign_den, -response_num, -response_den, -reply_num, -reply_den, -rated, -satisfied,
                 -resolved, -reopens, -replies, -rejected_returns, -escalations, -sent_back, -overdue
          FROM unnest(stale)) x
    GROUP BY month, unit
    HAVING (sum(sign_num), sum(sign_den), sum(response_num), sum(response_den), sum(reply_num),
           sum(reply_den), sum(rated), sum(satisfied), sum(resolved), sum(reopens), sum(replies), sum(rejected_returns),
           sum(escalations), sum(sent_back), sum(overdue)) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ORDER BY month, unit
    ON CONFLICT (month, unit) DO UPDATE SET
        sign_num = s.sign_num + excluded.sign_num, sign_den = s.sign_den + excluded.sign_den,
        response_num = s.response_num + excluded.response_num, response_den = s.response_den + excluded.response_den,
        reply_num = s.reply_num + excluded.reply_num, reply_den = s.reply_den + excluded.reply_den,
        rated = s.rated + excluded.rated, satisfied = s.satisfied + excluded.satisfied, resolved = s.resolved + excluded.resolved,
        reopens = s.reopens + excluded.reopens, replies = s.replies + excluded.replies,
        rejected_returns = s.rejected_returns + excluded.rejected_returns, escalations = s.escalations + excluded.escalations,
        sent_back = s.sent_back + excluded.sent_back, overdue = s.overdue + excluded.overdue;
END $$;

-- At COMMIT, once per case in a row of its events: by then the transaction's changes are all
-- made. The kinds that never move a figure are left out (intake's events above all).
CREATE FUNCTION case_events_appraisal() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF current_setting('hotline.appraisal_refreshed', true) IS DISTINCT FROM NEW.case_id::text THEN
        PERFORM appraisal_refresh(NEW.case_id);
        PERFORM set_config('hotline.appraisal_refreshed', NEW.case_id::text, true);
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER case_events_appraisal AFTER INSERT ON case_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.kind NOT IN ('accepted', 'answered_directly', 'transferred', 'note', 'contact_revealed', 'disclosed', 'urged'))
    EXECUTE FUNCTION case_events_appraisal();
-- Not to be skipped with session_replication_role; only the owner can disable it.
ALTER TABLE case_events ENABLE ALWAYS TRIGGER case_events_appraisal;
REVOKE EXECUTE ON FUNCTION appraisal_refresh(bigint) FROM PUBLIC;

-- The sums made again from the facts: after the backfill below, and after the benchmarks'
-- replication copies facts in bulk.
CREATE FUNCTION appraisal_sums_from_facts() RETURNS void LANGUAGE sql AS $$
    DELETE FROM appraisal_sums;
    INSERT INTO appraisal_sums
    SELECT unit, month, sum(sign_num), sum(sign_den), sum(response_num), sum(response_den), sum(reply_num), sum(reply_den),
           sum(rated), sum(satisfied), sum(resolved), sum(reopens), sum(replies), sum(rejected_returns), sum(escalations),
           sum(sent_back), sum(overdue)
    FROM appraisal_facts GROUP BY month, unit;
$$;
REVOKE EXECUTE ON FUNCTION appraisal_sums_from_facts() FROM PUBLIC;

-- The record as it stands.
INSERT INTO appraisal_facts SELECT c.id, f.* FROM cases c CROSS JOIN LATERAL appraisal_case_figures(c.id) f;
SELECT appraisal_sums_from_facts();
