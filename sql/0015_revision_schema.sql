-- A published revision keeps the shape it was stored in (DOMAIN §9: every revision stays
-- readable, in all three formats, whatever later reports add). Every revision so far is shape 1.
ALTER TABLE appraisal_revisions ADD COLUMN schema_version smallint NOT NULL DEFAULT 1 CHECK (schema_version >= 1);
