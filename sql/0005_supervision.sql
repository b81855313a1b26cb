-- Supervision (DOMAIN §7): the urging ladder of every late step, escalation, and public
-- disclosure. Each urging and escalation happens once per deadline and level: unique keys, not
-- care in the code, make that so however many instances sweep at once.

-- The ladder of a deadline: how many of its levels have happened (1–3 urgings, 4 the
-- escalation) and when the next one falls due. The sweep reads only rows whose next level is
-- due, through a partial index, never the open cases as a whole.
ALTER TABLE deadlines
    ADD COLUMN ladder_level    smallint NOT NULL DEFAULT 0 CHECK (ladder_level BETWEEN 0 AND 4),
    ADD COLUMN ladder_next_at  timestamptz;

-- Level 1 falls due with the deadline itself; later levels need the working-day calendar and
-- are set by the sweep. Visits are the center's own work and have no ladder.
CREATE FUNCTION deadlines_ladder_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.step <> 'visit' AND NEW.ladder_level = 0 THEN
        NEW.ladder_next_at := NEW.due_at;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER deadlines_ladder_start BEFORE INSERT OR UPDATE OF due_at ON deadlines
    FOR EACH ROW EXECUTE FUNCTION deadlines_ladder_start();

UPDATE deadlines SET ladder_next_at = due_at WHERE step <> 'visit';

CREATE INDEX deadlines_ladder_due ON deadlines (ladder_next_at)
    WHERE ladder_next_at IS NOT NULL AND met_at IS NULL AND closed_at IS NULL;
CREATE INDEX deadlines_warning ON deadlines (warn_at)
    WHERE met_at IS NULL AND closed_at IS NULL AND step <> 'visit';

-- 催办: automatic urgings carry their level; a dispatcher's own urging has none.
CREATE TABLE urgings (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    deadline_id  bigint NOT NULL REFERENCES deadlines (id),
    unit_code    text NOT NULL REFERENCES units (code),
    level        smallint CHECK (level BETWEEN 1 AND 3),
    urged_at     timestamptz NOT NULL,
    urged_by     bigint REFERENCES users (id),
    note         text CHECK (char_length(note) BETWEEN 1 AND 1000),
    CHECK ((level IS NULL) = (urged_by IS NOT NULL)),
    UNIQUE (deadline_id, level)
);
CREATE INDEX urgings_case ON urgings (case_id);
CREATE INDEX urgings_unit_time ON urgings (unit_code, urged_at);

-- 升级督办: once per deadline, by the sweep or by a dispatcher.
CREATE TABLE escalations (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id        bigint NOT NULL REFERENCES cases (id),
    deadline_id    bigint NOT NULL UNIQUE REFERENCES deadlines (id),
    unit_code      text NOT NULL REFERENCES units (code),
    escalated_at   timestamptz NOT NULL,
    escalated_by   bigint REFERENCES users (id),
    reason         text CHECK (char_length(reason) BETWEEN 1 AND 1000),
    CHECK ((escalated_by IS NULL) = (reason IS NULL))
);
CREATE INDEX escalations_time ON escalations (escalated_at);
CREATE INDEX escalations_unit_time ON escalations (unit_code, escalated_at);

-- 舆论监督: a closed case shown to the public with a summary a dispatcher wrote for it.
CREATE TABLE disclosures (
    case_id       bigint PRIMARY KEY REFERENCES cases (id),
    summary       text NOT NULL CHECK (char_length(summary) BETWEEN 1 AND 2000),
    disclosed_at  timestamptz NOT NULL,
    disclosed_by  bigint NOT NULL REFERENCES users (id)
);
CREATE INDEX disclosures_time ON disclosures (disclosed_at DESC, case_id DESC);
