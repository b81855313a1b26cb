-- Repeats (DOMAIN §15). A case remembers, from its intake on, the earlier cases of its citizen's
-- phone in the 30 days before it (重复来电): the center reads them as `repeat_of`, and the
-- center's figures count the case as a repeat call. Cases before this migration have none.
ALTER TABLE cases ADD COLUMN repeat_of bigint[] NOT NULL DEFAULT '{}';
CREATE INDEX cases_repeat_calls ON cases (accepted_at) WHERE repeat_of <> '{}';

-- The similar cases an operator sees while the citizen is on the line: the same category and
-- region, newest first; and the cases within 200 m of a point.
CREATE INDEX cases_category_region_accepted ON cases (category, region, accepted_at);
CREATE INDEX cases_place ON cases USING gist (point(longitude, latitude)) WHERE latitude IS NOT NULL;

-- A citizen calling again about an open case (催单, 补充诉求): what they said, added to the case
-- by the operator. Append-only: a supplement is part of the record, as a timeline event is.
CREATE TABLE supplements (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    text         text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 4000),
    recorded_at  timestamptz NOT NULL,
    recorded_by  bigint NOT NULL REFERENCES users (id)
);
CREATE INDEX supplements_case ON supplements (case_id, id);
CREATE INDEX supplements_recorded ON supplements (recorded_at);
CREATE TRIGGER supplements_no_change BEFORE UPDATE OR DELETE ON supplements
    FOR EACH ROW EXECUTE FUNCTION record_is_append_only();
CREATE TRIGGER supplements_no_truncate BEFORE TRUNCATE ON supplements
    FOR EACH STATEMENT EXECUTE FUNCTION record_is_append_only();
ALTER TABLE supplements ENABLE ALWAYS TRIGGER supplements_no_change;
ALTER TABLE supplements ENABLE ALWAYS TRIGGER supplements_no_truncate;
