-- Reads at 12 M work orders (issue 15): a unit's inbox is read in the order its open deadlines
-- fall. Every deadline of an assignment carries that assignment's unit (DeadlineLedger.open is
-- the one writer), so a unit's running work is this index's range.
CREATE INDEX deadlines_unit_open ON deadlines (unit_code, due_at, id) WHERE met_at IS NULL AND closed_at IS NULL;
