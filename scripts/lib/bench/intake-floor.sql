-- The database floor of intake for pgbench (scripts/bench intake): the statements one
-- POST /api/v1/cases executes, in order and with the same text, values as pgbench variables.
-- scripts/bench logs the statements of a real intake and compares them with these first: if
-- intake's SQL changes, the benchmark says so instead of measuring a stale floor.
\set k random(1, 1000000000000)
SELECT u.id, u.role, u.unit_code
FROM tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = decode(:token_hash, 'hex') AND t.revoked_at IS NULL AND u.active;
BEGIN;
INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
VALUES ('user:' || :user_id, 'floor-' || :client_id || '-' || :k, sha256(('floor' || :k)::bytea), now())
ON CONFLICT (scope, key) DO NOTHING RETURNING key;
SELECT active FROM categories WHERE code = 'housing.property';
SELECT unit_group FROM units WHERE code = 'taishan';
SELECT id, version FROM knowledge_articles
WHERE id = ANY('{}'::bigint[]) AND status = 'published'
  AND (valid_from IS NULL OR valid_from <= current_date)
  AND (valid_until IS NULL OR valid_until >= current_date);
INSERT INTO case_number_days (day, last_seq) VALUES (current_date, 1)
ON CONFLICT (day) DO UPDATE SET last_seq = case_number_days.last_seq + 1
RETURNING last_seq \gset
INSERT INTO cases (number, channel, case_type, urgency, category, subject, description,
                   address, region, latitude, longitude, anonymous, confidential, contact_consent,
                   status, closure, accepted_at, accepted_by, closed_at, direct_answer)
VALUES (to_char(current_date, 'YYYYMMDD') || lpad(:last_seq::text, 6, '0'), 'phone', 'complaint', 'normal',
        'housing.property', '电梯停运', '3号楼电梯停运，已三天。',
        '红门路1号', 'taishan', NULL, NULL,
        false, false, true,
        'accepted',
        NULL, now(), :user_id, NULL,
        NULL)
RETURNING id \gset case_
INSERT INTO case_contacts (case_id, name, phone) VALUES (:case_id, '张三', '13812345678');
INSERT INTO case_events (case_id, at, kind, actor_id, actor_role, unit_code, details)
VALUES (:case_id, now(), 'accepted', :user_id, 'operator', NULL,
        '{"type": "complaint", "channel": "phone", "urgency": "normal", "category": "housing.property"}');
SELECT id, number, status, case_type, urgency, category, region, anonymous, confidential, contact_consent,
dispatch_round, approved_returns, reopen_count, merged_into, reply_id, exempt_reason IS NOT NULL AS exempt,
status_before_return FROM cases WHERE number = to_char(current_date, 'YYYYMMDD') || lpad(:last_seq::text, 6, '0');
SELECT c.number, c.status, c.closure, c.channel, c.case_type, c.urgency, c.category, c.subject, c.description,
       c.address, c.region, c.latitude, c.longitude, c.accepted_at, c.closed_at, c.direct_answer,
       ARRAY(SELECT article_id FROM case_articles WHERE case_id = c.id ORDER BY position) AS articles,
       c.transfer_service, c.reopen_count, c.approved_returns, c.exempt_reason,
       m.number AS master
FROM cases c LEFT JOIN cases m ON m.id = c.merged_into
WHERE c.id = :case_id;
SELECT assignment_id, step, due_at, warn_at, provisional, met_at, closed_at FROM deadlines
WHERE case_id = :case_id ORDER BY id;
SELECT id, unit_code, role, status, round, designated, dispatched_at, signed_at, return_until
FROM assignments WHERE case_id = :case_id ORDER BY id;
SELECT id, visited_at, reached, satisfaction, resolved, note FROM visits WHERE case_id = :case_id ORDER BY id;
SELECT id, unit_code, text, given_at FROM opinions
WHERE case_id = :case_id AND (NULL::text IS NULL OR unit_code = NULL)
ORDER BY id;
SELECT id, unit_code, status, reason, suggested_unit, requested_at, reviewed_at, review_reason
FROM return_requests WHERE case_id = :case_id ORDER BY id;
SELECT id, unit_code, status, reason, working_days, approved_days, requested_at, reviewed_at, review_reason
FROM extension_requests WHERE case_id = :case_id ORDER BY id;
SELECT number FROM cases WHERE merged_into = :case_id ORDER BY id;
SELECT name, phone FROM case_contacts WHERE case_id = :case_id;
UPDATE idempotency_keys SET status = 201, response = convert_to(repeat('{"number":"20261129000001"}', 40), 'UTF8')
WHERE scope = 'user:' || :user_id AND key = 'floor-' || :client_id || '-' || :k;
COMMIT;
