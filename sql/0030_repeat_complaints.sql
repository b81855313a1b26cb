-- A unit's repeat complaints (DOMAIN §15, shown in its figures, not scored): a case filed by a
-- phone in a category within 30 days after a unit's reply to an earlier case of that phone and
-- category names the unit here, from its intake on. Cases before this migration name none.
ALTER TABLE cases ADD COLUMN repeat_complaint_units text[] NOT NULL DEFAULT '{}';
CREATE INDEX cases_repeat_complaints ON cases (accepted_at) WHERE repeat_complaint_units <> '{}';

-- Every intake looks up its phone's cases (repeat calls, repeat complaints, similar cases): the
-- newest first, a few dozen at most, so a phone that has called thousands of times (高频来电)
-- costs what one that called twice does. Wider than the SMS cap's index it replaces.
DROP INDEX case_contacts_phone;
CREATE INDEX case_contacts_phone ON case_contacts (phone, case_id) WHERE phone IS NOT NULL;
