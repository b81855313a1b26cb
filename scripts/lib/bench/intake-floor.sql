-- The database floor of intake for pgbench (scripts/bench intake): the statements one
-- POST /api/v1/cases executes, in order and with the same text, a pgbench variable (-D) for
-- each of the service's parameters and NULL where the service sends none.
-- scripts/bench logs the statements of a real intake and compares them with these first: if
-- intake's SQL changes, the benchmark says so instead of measuring a stale floor.
\set key random(1, 1000000000000)
SELECT u.id, u.role, u.unit_code, u.exchange_system, t.id AS token_id, t.last_used_at
FROM tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL AND t.expires_at > :now AND u.active;
BEGIN;
INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
VALUES (:scope, :key, :fingerprint, :now)
ON CONFLICT (scope, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, created_at = EXCLUDED.created_at, status = NULL, reference = NULL
    WHERE idempotency_keys.created_at < :retention
RETURNING key;
WITH stored AS (
    INSERT INTO cases (number, channel, case_type, urgency, category, subject, description,
                       address, region, latitude, longitude, anonymous, confidential, contact_consent,
                       status, closure, accepted_at, accepted_by, closed_at, direct_answer,
                       search_units, search_center, search_version)
    SELECT next_case_number(:day::date),
           :channel, :type, :urgency,
           :category, :subject, :description,
           :address, :region, NULL, NULL,
           :false, :false, :true,
           :status, NULL, :now, :user_id, NULL,
           NULL, :search_units::tsvector, NULL::tsvector, :search_version
    WHERE EXISTS (SELECT FROM categories k WHERE k.code = :category AND k.active)
      AND (:region::text IS NULL
           OR EXISTS (SELECT FROM units u WHERE u.code = :region AND u.unit_group = ANY(:areas)))
    RETURNING id, number, accepted_at, closed_at
), contact AS (
    INSERT INTO case_contacts (case_id, name, phone)
    SELECT id, :name, :phone FROM stored WHERE NOT :false
), accepted AS (
    INSERT INTO case_events (case_id, at, kind, actor_id, actor_role, unit_code, details)
    SELECT id, :now, :kind, :user_id, :role, NULL,
           :details
    FROM stored
)
SELECT id, number, accepted_at, closed_at FROM stored;
UPDATE idempotency_keys SET status = :created, reference = :reference
WHERE scope = :scope AND key = :key;
COMMIT;
