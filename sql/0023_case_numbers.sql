-- Case numbers without the day's queue (issue 15). A number was the day's row incremented in
-- the intake's transaction, so every intake of the day waited for the one before it to COMMIT.
-- Now one sequence, never reset, hands out values outside any transaction, and a day's number
-- is its value less the day's base: unique and increasing within the day (YYYYMMDD + 6 digits)
-- but not gapless — a rolled-back intake, or a value taken by a transaction still on the
-- previous day, leaves a number unused. Only the first intakes of a day write the day's row.
CREATE SEQUENCE case_numbers;

ALTER TABLE case_number_days ADD COLUMN base bigint;
-- The days numbered before: their next value follows their last number.
UPDATE case_number_days SET base = (SELECT last_value FROM case_numbers) - last_seq - 1;
ALTER TABLE case_number_days ALTER COLUMN base SET NOT NULL, DROP COLUMN last_seq;

-- The base of a day is taken before any value of it, so every value of the day is above it.
CREATE FUNCTION next_case_number(d date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    b bigint;
    n bigint;
BEGIN
    SELECT base INTO b FROM case_number_days WHERE day = d;
    IF b IS NULL THEN
        -- Two first intakes at once: the second waits for the first's row, then reads it.
        INSERT INTO case_number_days (day, base) VALUES (d, nextval('case_numbers'))
        ON CONFLICT (day) DO NOTHING RETURNING base INTO b;
        IF b IS NULL THEN
            SELECT base INTO b FROM case_number_days WHERE day = d;
        END IF;
    END IF;
    n := nextval('case_numbers') - b;
    IF n > 999999 THEN
        RAISE EXCEPTION 'the case numbers of % are used up', d;
    END IF;
    RETURN to_char(d, 'YYYYMMDD') || lpad(n::text, 6, '0');
END $$;
