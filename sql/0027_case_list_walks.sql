-- A case list walks from the index of the one filter (or the reader's unit) that names few
-- cases, in case order, instead of walking every case backwards (CaseWalk): the cases a unit
-- leads now, the escalated, and those with a step owed past its deadline.
CREATE INDEX assignments_unit_lead ON assignments (unit_code, case_id)
    WHERE role = 'lead' AND status IN ('dispatched', 'signed', 'replied');
CREATE INDEX escalations_case ON escalations (case_id);
CREATE INDEX deadlines_open_owed ON deadlines (case_id, due_at)
    WHERE met_at IS NULL AND closed_at IS NULL AND step IN ('sign', 'reply', 'opinion', 'review', 'contact');
