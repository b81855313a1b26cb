-- SMS to citizens and to units' liaisons (DOMAIN §14). A message is queued when its change
-- commits, as a webhook delivery is; it holds no phone number: the sender reads the citizen's
-- (or the liaison's) at the moment it sends, so a number corrected later is the one used and
-- the queue never becomes a second copy of who called.

-- The texts, as data: a city words them as it likes. {number} the case number, {lookup} the
-- public progress page, {unit} the unit's name, {due} the sign deadline, {rating} the survey's
-- one-time link. A kind turned off queues nothing.
CREATE TABLE sms_templates (
    kind     text PRIMARY KEY CHECK (kind IN ('accepted', 'replied', 'survey', 'sign_reminder', 'sign_warning', 'urged')),
    body     text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 300),
    enabled  boolean NOT NULL DEFAULT true
);
INSERT INTO sms_templates (kind, body) VALUES
    ('accepted', '【12345】您反映的问题已受理，工单号{number}。可凭工单号和手机号后四位查询办理进度：{lookup}'),
    ('replied', '【12345】您的工单{number}已由{unit}答复，答复内容可查询：{lookup}'),
    ('survey', '【12345】请您对工单{number}的办理结果进行评价（限评价一次）：{rating}'),
    ('sign_reminder', '【12345】{unit}：您单位有新派工单{number}，请于{due}前签收。'),
    ('sign_warning', '【12345】{unit}：工单{number}即将超过签收时限（{due}），请尽快签收。'),
    ('urged', '【12345】{unit}：工单{number}已超时限，现予催办，请尽快办理。');
GRANT UPDATE ON sms_templates TO hotline_runtime;

-- The phone a unit's SMS go to (联络员), set by an admin or the unit's own handlers.
CREATE TABLE unit_liaisons (
    unit_code   text PRIMARY KEY REFERENCES units (code),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50),
    phone       text NOT NULL CHECK (phone ~ '^\+?[0-9]{5,20}$'),
    updated_at  timestamptz NOT NULL,
    updated_by  bigint REFERENCES users (id)
);
GRANT UPDATE ON unit_liaisons TO hotline_runtime;

-- One message: to the citizen of a case (unit_code NULL) or to a unit's liaison. Made once per
-- event (or, for the yellow card, per sign deadline): the unique keys below.
CREATE TABLE sms_messages (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The kinds of sms_templates, checked here rather than by a foreign key: every intake
    -- would take a share lock on the one 'accepted' row, and concurrent intakes would queue on it.
    kind             text NOT NULL CHECK (kind IN ('accepted', 'replied', 'survey', 'sign_reminder', 'sign_warning', 'urged')),
    case_id          bigint NOT NULL REFERENCES cases (id),
    event_id         bigint REFERENCES case_events (id),
    deadline_id      bigint REFERENCES deadlines (id),
    unit_code        text REFERENCES units (code),
    urgent           boolean NOT NULL,
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'parked', 'skipped')),
    created_at       timestamptz NOT NULL,
    next_attempt_at  timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    -- Why it waits, failed or was not sent: never the gateway's own words, which may repeat the number.
    last_error       text CHECK (char_length(last_error) <= 200),
    sent_at          timestamptz,
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK (event_id IS NOT NULL OR deadline_id IS NOT NULL),
    CHECK ((kind IN ('accepted', 'replied', 'survey')) = (unit_code IS NULL))
);
CREATE UNIQUE INDEX sms_messages_once_per_event ON sms_messages (event_id, kind, coalesce(unit_code, '')) WHERE event_id IS NOT NULL;
CREATE UNIQUE INDEX sms_messages_once_per_deadline ON sms_messages (deadline_id, kind) WHERE deadline_id IS NOT NULL;
CREATE INDEX sms_messages_due ON sms_messages (coalesce(next_attempt_at, '-infinity'), id) WHERE status = 'queued';
CREATE INDEX sms_messages_sent_per_case ON sms_messages (case_id, sent_at) WHERE status = 'sent' AND unit_code IS NULL;
GRANT UPDATE ON sms_messages TO hotline_runtime;

-- The daily cap counts what one phone was sent today, across its cases.
CREATE INDEX case_contacts_phone ON case_contacts (phone) WHERE phone IS NOT NULL;

-- The yellow card of a sign deadline (its warning time passed, not yet signed) is found by the
-- sender's pass; this keeps that query to the open sign deadlines.
CREATE INDEX deadlines_open_sign_warn ON deadlines (warn_at) WHERE step = 'sign' AND met_at IS NULL AND closed_at IS NULL;

-- A satisfaction survey's one-time link. Only its hash is kept; the link is made when the SMS
-- is sent (a new one at each attempt, replacing the last) and used once.
CREATE TABLE rating_links (
    sms_id      bigint PRIMARY KEY REFERENCES sms_messages (id),
    case_id     bigint NOT NULL REFERENCES cases (id),
    reply_id    bigint NOT NULL REFERENCES replies (id),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
-- Only its use is written: the service cannot point a link elsewhere or revive it.
GRANT UPDATE (used_at) ON rating_links TO hotline_runtime;

-- A return visit the citizen made by answering the survey (no operator called).
ALTER TABLE visits ADD COLUMN method text NOT NULL DEFAULT 'phone' CHECK (method IN ('phone', 'sms')),
    ALTER COLUMN visited_by DROP NOT NULL,
    ADD CHECK ((method = 'sms') = (visited_by IS NULL));

-- What a committed event sends. Citizens: never an anonymous one, nor one without a phone, nor
-- the citizen of a case another system sent (that platform keeps its own contact with them);
-- the acceptance, the reply as released (with its survey). Units: the liaison of each unit
-- whose sign deadline a dispatch, a pass-down or a reassignment opened, and of each unit urged.
CREATE FUNCTION case_events_sms() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c cases;
BEGIN
    IF NEW.kind NOT IN ('accepted', 'replied', 'reply_approved', 'dispatched', 'passed_down', 'reassigned', 'urged') THEN
        RETURN NULL;
    END IF;
    SELECT * INTO c FROM cases WHERE id = NEW.case_id;
    IF NEW.kind = 'accepted' OR (NEW.kind = 'replied' AND NEW.details -> 'under_review' IS DISTINCT FROM 'true'::jsonb)
       OR (NEW.kind = 'reply_approved' AND NEW.details -> 'released' = 'true'::jsonb) THEN
        IF NOT c.anonymous AND EXISTS (SELECT FROM case_contacts WHERE case_id = c.id AND phone IS NOT NULL)
           AND NOT EXISTS (SELECT FROM case_sources WHERE case_id = c.id) THEN
            INSERT INTO sms_messages (kind, case_id, event_id, urgent, created_at)
            SELECT t.kind, c.id, NEW.id, c.urgency = 'urgent', NEW.at
            FROM sms_templates t
            WHERE t.enabled AND t.kind = ANY (CASE WHEN NEW.kind = 'accepted' THEN '{accepted}'::text[] ELSE '{replied,survey}' END)
            ORDER BY t.kind = 'survey'
            ON CONFLICT DO NOTHING;
        END IF;
    ELSIF NEW.kind IN ('dispatched', 'passed_down', 'reassigned') THEN
        INSERT INTO sms_messages (kind, case_id, event_id, deadline_id, unit_code, urgent, created_at)
        SELECT 'sign_reminder', c.id, NEW.id, d.id, d.unit_code, c.urgency = 'urgent', NEW.at
        FROM deadlines d, sms_templates t
        WHERE d.case_id = c.id AND d.step = 'sign' AND d.met_at IS NULL AND d.closed_at IS NULL
          AND t.kind = 'sign_reminder' AND t.enabled
        ON CONFLICT DO NOTHING;
    ELSIF NEW.kind = 'urged' AND NEW.unit_code IS NOT NULL THEN
        INSERT INTO sms_messages (kind, case_id, event_id, unit_code, urgent, created_at)
        SELECT 'urged', c.id, NEW.id, NEW.unit_code, c.urgency = 'urgent', NEW.at
        FROM sms_templates t WHERE t.kind = 'urged' AND t.enabled
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER case_events_sms AFTER INSERT ON case_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION case_events_sms();
