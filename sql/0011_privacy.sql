-- Free text is identity too (DOMAIN §10): a unit's search of cases matches only the text as that
-- unit sees it. Each case carries the search vector of its subject, description and address as a
-- unit sees them (the citizen masked, or removed on report and confidential cases), and, only
-- where that differs from the text as written, the vector the center searches. Both are written
-- by the service, in Swift, with the knowledge base's Chinese bigrams (ChineseText).
ALTER TABLE cases
    ADD COLUMN search_units tsvector,
    ADD COLUMN search_center tsvector,
    -- Which detector cut the vectors (FreeText.version): `hotline reindex` redoes older ones.
    ADD COLUMN search_version smallint;
CREATE INDEX cases_search_units ON cases USING gin (search_units);
CREATE INDEX cases_search_center ON cases USING gin (search_center) WHERE search_center IS NOT NULL;
-- Cases accepted before this migration have no vector until `hotline reindex` writes it.
CREATE INDEX cases_search_version ON cases (search_version);

-- Open311's public GET shows a case's description (identity removed) only for categories an
-- administrator has marked so: most descriptions are about a person's own life.
ALTER TABLE categories ADD COLUMN public_description boolean NOT NULL DEFAULT false;

-- A replay record keeps the status and the id of what was made or changed, never a body (DOMAIN
-- §13): a retry rebuilds its answer as its caller may see it then. The bodies kept until now held
-- tokens, API keys and revealed contacts; they go, and with them the records they belonged to.
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys DROP COLUMN response, ADD COLUMN reference text CHECK (char_length(reference) <= 200);
