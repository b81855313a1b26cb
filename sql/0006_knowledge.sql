-- The knowledge base (DOMAIN §8): units keep articles; operators search them in Chinese while
-- the citizen is on the line; a direct answer cites the articles it used.

CREATE TABLE knowledge_articles (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_code     text NOT NULL REFERENCES units (code),
    category      text REFERENCES categories (code),
    status        text NOT NULL CHECK (status IN ('draft', 'published', 'withdrawn')),
    version       integer NOT NULL CHECK (version >= 1),
    title         text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    body          text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 20000),
    keywords      text[] NOT NULL DEFAULT '{}' CHECK (cardinality(keywords) <= 30),
    valid_from    date,
    valid_until   date,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    updated_by    bigint NOT NULL REFERENCES users (id),
    -- Chinese has no spaces: the service writes overlapping character bigrams (and single
    -- characters, and Latin or digit runs as words) with weights A title, B keywords, C body.
    search        tsvector NOT NULL,
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from)
);
CREATE INDEX knowledge_search ON knowledge_articles USING gin (search) WHERE status = 'published';
CREATE INDEX knowledge_unit ON knowledge_articles (unit_code, updated_at);
CREATE INDEX knowledge_stale ON knowledge_articles (updated_at) WHERE status = 'published';

-- Every change of an article is a version, kept for good.
CREATE TABLE knowledge_versions (
    article_id   bigint NOT NULL REFERENCES knowledge_articles (id),
    version      integer NOT NULL,
    status       text NOT NULL CHECK (status IN ('draft', 'published', 'withdrawn')),
    title        text NOT NULL,
    body         text NOT NULL,
    keywords     text[] NOT NULL,
    category     text,
    valid_from   date,
    valid_until  date,
    changed_at   timestamptz NOT NULL,
    changed_by   bigint NOT NULL REFERENCES users (id),
    change       text NOT NULL CHECK (change IN ('created', 'edited', 'published', 'withdrawn')),
    PRIMARY KEY (article_id, version)
);

CREATE FUNCTION knowledge_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'article versions are kept as written: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER knowledge_versions_no_change BEFORE UPDATE OR DELETE ON knowledge_versions
    FOR EACH ROW EXECUTE FUNCTION knowledge_versions_append_only();

-- The articles a direct answer cited, with their integrity kept by foreign keys (the array
-- column of 0003 could not be).
CREATE TABLE case_articles (
    case_id     bigint NOT NULL REFERENCES cases (id),
    article_id  bigint NOT NULL REFERENCES knowledge_articles (id),
    version     integer NOT NULL,
    position    smallint NOT NULL,
    PRIMARY KEY (case_id, article_id)
);
CREATE INDEX case_articles_article ON case_articles (article_id);

-- No articles existed before this migration, so no case can have cited one.
ALTER TABLE cases DROP COLUMN direct_answer_articles;
