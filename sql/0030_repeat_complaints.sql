-- A unit's repeat complaints (DOMAIN §15, shown in its figures, not scored): a case filed by a
-- phone in a category within 30 days after a unit's reply to an earlier case of that phone and
-- category names the unit here, from its intake on. Cases before this migration name none.
ALTER TABLE cases ADD COLUMN repeat_complaint_units text[] NOT NULL DEFAULT '{}';
CREATE INDEX cases_repeat_complaints ON cases (accepted_at) WHERE repeat_complaint_units <> '{}';
