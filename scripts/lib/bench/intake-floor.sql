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
WITH recent AS (
    SELECT k.case_id FROM case_contacts k WHERE k.phone = :phone
    ORDER BY k.case_id DESC LIMIT :repeats_listed
), repeats AS (
    SELECT coalesce(array_agg(r.id ORDER BY r.id), '{}') AS ids, coalesce(array_agg(r.number ORDER BY r.id), '{}') AS numbers
    FROM (SELECT p.id, p.number FROM cases p
          WHERE p.id IN (SELECT case_id FROM recent) AND p.accepted_at >= :repeat_since) r
), answered AS (
    SELECT coalesce(array_agg(DISTINCT r.unit_code ORDER BY r.unit_code), '{}') AS units
    FROM cases p JOIN replies r ON r.case_id = p.id
    WHERE p.id IN (SELECT case_id FROM recent)
      AND p.category = :category AND r.status = 'approved'
      AND r.replied_at >= :repeat_since AND r.replied_at < :now
), stored AS (
    INSERT INTO cases (number, channel, case_type, urgency, category, subject, description,
                       address, region, latitude, longitude, anonymous, confidential, contact_consent,
                       status, closure, accepted_at, accepted_by, closed_at, direct_answer,
                       search_units, search_center, search_version, repeat_of, repeat_complaint_units)
    SELECT next_case_number(:day::date),
           :channel, :type, :urgency,
           :category, :subject, :description,
           :address, :region, NULL, NULL,
           :false, :false, :true,
           :status, NULL, :now, :user_id, NULL,
           NULL, :search_units::text::tsvector, NULL::text::tsvector, :search_version,
           (SELECT ids FROM repeats), (SELECT units FROM answered)
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
-- The new case's id, for the similar cases of the answer (\gset: its columns become variables).
SELECT id, number, accepted_at, closed_at, (SELECT numbers FROM repeats) AS repeat_of FROM stored \gset
WITH found AS (
    (SELECT c.id FROM cases c
     WHERE c.id IN (SELECT k.case_id FROM case_contacts k WHERE k.phone = :phone
                    ORDER BY k.case_id DESC LIMIT 50)
       AND (c.accepted_at >= :repeat_since OR c.status NOT IN ('closed', 'merged')))
    UNION
    (SELECT c.id FROM cases c
     WHERE c.category = :category
       AND (c.region = :region OR :region::text IS NULL)
       AND c.accepted_at >= :similar_since
       AND c.search_units @@ :similar_terms::text::tsquery
     ORDER BY c.accepted_at DESC LIMIT 100)
    UNION
    (SELECT c.id FROM cases c
     WHERE c.latitude IS NOT NULL
       AND point(c.longitude, c.latitude) <@ box(point(NULL, NULL), point(NULL, NULL))
       AND (c.accepted_at >= :repeat_since OR c.status NOT IN ('closed', 'merged'))
     ORDER BY c.id DESC LIMIT 200)
)
SELECT c.number, c.status, c.category, c.region, c.subject, c.accepted_at, c.latitude, c.longitude,
       m.number AS master, coalesce(k.phone = :phone, false) AS same_phone,
       tsvector_to_array(coalesce(c.search_center, c.search_units)) AS terms
FROM found f JOIN cases c ON c.id = f.id
LEFT JOIN case_contacts k ON k.case_id = c.id LEFT JOIN cases m ON m.id = c.merged_into
WHERE c.id <> :id;
UPDATE idempotency_keys SET status = :created, reference = :reference
WHERE scope = :scope AND key = :key;
COMMIT;
