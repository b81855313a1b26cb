-- The few open assignments with no deadline running are found among the unit's open ones.
CREATE INDEX assignments_unit_open ON assignments (unit_code, id) WHERE status IN ('dispatched', 'signed');
