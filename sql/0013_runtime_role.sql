-- The record defends itself (DOMAIN §13). Migrations run as the owner of the schema; the service
-- runs as a login role that is a member of `hotline_runtime`, which may read and append but
-- cannot alter or delete the timeline, urgings, escalations, published revisions or article
-- versions, nor truncate anything, nor drop or disable a trigger (that takes ownership).
--
-- The group role is made here if it does not exist yet, which needs CREATEROLE; a DBA who would
-- rather not give the owner that makes it beforehand (`CREATE ROLE hotline_runtime NOLOGIN`).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotline_runtime') THEN
        CREATE ROLE hotline_runtime NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database of the cluster migrating at the same moment made it
END $$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, hotline_runtime;
GRANT USAGE ON SCHEMA public TO hotline_runtime;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO hotline_runtime;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO hotline_runtime;
-- What the service changes in place: the state of cases and their handling, the organisation,
-- configuration tables, the day's case numbers and the replay records.
GRANT UPDATE ON
    cases, assignments, deadlines, return_requests, extension_requests, knowledge_articles,
    units, users, tokens, categories, time_limits, appraisal_weights, calendar_years,
    case_number_days, idempotency_keys, open311_keys
TO hotline_runtime;
-- What it replaces or removes: a category's routes and limits, a year of the calendar, replay
-- records past their retention.
GRANT DELETE ON category_routes, category_time_limits, calendar_days, idempotency_keys TO hotline_runtime;
GRANT UPDATE, DELETE ON rate_limits, lookup_locks TO hotline_runtime;
-- The migrations are the owner's; the service only checks them.
REVOKE INSERT ON schema_migrations FROM hotline_runtime;
-- A table a later migration makes is readable and appendable by the service, and no more until
-- that migration grants it: append-only is the default.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO hotline_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO hotline_runtime;

-- The guards of the record hold whoever asks, even with `session_replication_role = replica`.
ALTER TABLE case_events ENABLE ALWAYS TRIGGER case_events_no_change;
ALTER TABLE case_events ENABLE ALWAYS TRIGGER case_events_no_truncate;
ALTER TABLE knowledge_versions ENABLE ALWAYS TRIGGER knowledge_versions_no_change;
ALTER TABLE appraisal_revisions ENABLE ALWAYS TRIGGER appraisal_revisions_frozen;

-- Urgings and escalations happen once and stay as they happened.
CREATE FUNCTION record_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER urgings_no_change BEFORE UPDATE OR DELETE ON urgings
    FOR EACH ROW EXECUTE FUNCTION record_is_append_only();
CREATE TRIGGER escalations_no_change BEFORE UPDATE OR DELETE ON escalations
    FOR EACH ROW EXECUTE FUNCTION record_is_append_only();
ALTER TABLE urgings ENABLE ALWAYS TRIGGER urgings_no_change;
ALTER TABLE escalations ENABLE ALWAYS TRIGGER escalations_no_change;

-- TRUNCATE fires no row trigger: every frozen table refuses it with a statement trigger.
CREATE TRIGGER urgings_no_truncate BEFORE TRUNCATE ON urgings
    FOR EACH STATEMENT EXECUTE FUNCTION record_is_append_only();
CREATE TRIGGER escalations_no_truncate BEFORE TRUNCATE ON escalations
    FOR EACH STATEMENT EXECUTE FUNCTION record_is_append_only();
CREATE TRIGGER appraisal_revisions_no_truncate BEFORE TRUNCATE ON appraisal_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION record_is_append_only();
CREATE TRIGGER knowledge_versions_no_truncate BEFORE TRUNCATE ON knowledge_versions
    FOR EACH STATEMENT EXECUTE FUNCTION record_is_append_only();
ALTER TABLE urgings ENABLE ALWAYS TRIGGER urgings_no_truncate;
ALTER TABLE escalations ENABLE ALWAYS TRIGGER escalations_no_truncate;
ALTER TABLE appraisal_revisions ENABLE ALWAYS TRIGGER appraisal_revisions_no_truncate;
ALTER TABLE knowledge_versions ENABLE ALWAYS TRIGGER knowledge_versions_no_truncate;
