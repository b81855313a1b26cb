-- Search speed: the title and keywords of an article (weights A and B of its search vector),
-- kept as a small vector of their own so that ranking candidates by "in the title" does not
-- read each candidate's whole body vector. Derived by the database, so it can never disagree.
ALTER TABLE knowledge_articles ADD COLUMN head tsvector;
UPDATE knowledge_articles SET head = ts_filter(search, '{a,b}');
ALTER TABLE knowledge_articles ALTER COLUMN head SET NOT NULL;

CREATE FUNCTION knowledge_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.head := ts_filter(NEW.search, '{a,b}');
    RETURN NEW;
END $$;
CREATE TRIGGER knowledge_head BEFORE INSERT OR UPDATE OF search ON knowledge_articles
    FOR EACH ROW EXECUTE FUNCTION knowledge_head();
