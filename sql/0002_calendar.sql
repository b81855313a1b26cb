-- The official working-day calendar (DOMAIN §6): Monday to Friday, minus the public holidays,
-- plus the weekend make-up working days (调休上班) of the State Council's yearly notice.
-- A loaded year replaces its own rows; a day of a year not loaded falls back to Monday–Friday
-- and the deadline computed on it is flagged provisional.

CREATE TABLE calendar_years (
    year       integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2200),
    source     text NOT NULL DEFAULT '' CHECK (char_length(source) <= 500),
    loaded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE calendar_days (
    day      date PRIMARY KEY,
    -- The notice the day comes from: a notice may reach into the next or previous year.
    year     integer NOT NULL REFERENCES calendar_years (year) ON DELETE CASCADE,
    working  boolean NOT NULL,
    name     text NOT NULL DEFAULT '' CHECK (char_length(name) <= 50),
    -- Only a weekend day can be made a working day.
    CONSTRAINT calendar_make_up_on_weekend CHECK (NOT working OR extract(isodow FROM day) IN (6, 7))
);
CREATE INDEX calendar_days_year ON calendar_days (year);

INSERT INTO calendar_years (year, source) VALUES
    (2025, '国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）'),
    (2026, '国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）');

INSERT INTO calendar_days (day, year, working, name) VALUES
    ('2025-01-01', 2025, false, '元旦'),
    ('2025-01-28', 2025, false, '春节'),
    ('2025-01-29', 2025, false, '春节'),
    ('2025-01-30', 2025, false, '春节'),
    ('2025-01-31', 2025, false, '春节'),
    ('2025-02-01', 2025, false, '春节'),
    ('2025-02-02', 2025, false, '春节'),
    ('2025-02-03', 2025, false, '春节'),
    ('2025-02-04', 2025, false, '春节'),
    ('2025-04-04', 2025, false, '清明节'),
    ('2025-04-05', 2025, false, '清明节'),
    ('2025-04-06', 2025, false, '清明节'),
    ('2025-05-01', 2025, false, '劳动节'),
    ('2025-05-02', 2025, false, '劳动节'),
    ('2025-05-03', 2025, false, '劳动节'),
    ('2025-05-04', 2025, false, '劳动节'),
    ('2025-05-05', 2025, false, '劳动节'),
    ('2025-05-31', 2025, false, '端午节'),
    ('2025-06-01', 2025, false, '端午节'),
    ('2025-06-02', 2025, false, '端午节'),
    ('2025-10-01', 2025, false, '国庆节、中秋节'),
    ('2025-10-02', 2025, false, '国庆节、中秋节'),
    ('2025-10-03', 2025, false, '国庆节、中秋节'),
    ('2025-10-04', 2025, false, '国庆节、中秋节'),
    ('2025-10-05', 2025, false, '国庆节、中秋节'),
    ('2025-10-06', 2025, false, '国庆节、中秋节'),
    ('2025-10-07', 2025, false, '国庆节、中秋节'),
    ('2025-10-08', 2025, false, '国庆节、中秋节'),
    ('2025-01-26', 2025, true, '春节'),
    ('2025-02-08', 2025, true, '春节'),
    ('2025-04-27', 2025, true, '劳动节'),
    ('2025-09-28', 2025, true, '国庆节、中秋节'),
    ('2025-10-11', 2025, true, '国庆节、中秋节'),
    ('2026-01-01', 2026, false, '元旦'),
    ('2026-01-02', 2026, false, '元旦'),
    ('2026-01-03', 2026, false, '元旦'),
    ('2026-02-15', 2026, false, '春节'),
    ('2026-02-16', 2026, false, '春节'),
    ('2026-02-17', 2026, false, '春节'),
    ('2026-02-18', 2026, false, '春节'),
    ('2026-02-19', 2026, false, '春节'),
    ('2026-02-20', 2026, false, '春节'),
    ('2026-02-21', 2026, false, '春节'),
    ('2026-02-22', 2026, false, '春节'),
    ('2026-02-23', 2026, false, '春节'),
    ('2026-04-04', 2026, false, '清明节'),
    ('2026-04-05', 2026, false, '清明节'),
    ('2026-04-06', 2026, false, '清明节'),
    ('2026-05-01', 2026, false, '劳动节'),
    ('2026-05-02', 2026, false, '劳动节'),
    ('2026-05-03', 2026, false, '劳动节'),
    ('2026-05-04', 2026, false, '劳动节'),
    ('2026-05-05', 2026, false, '劳动节'),
    ('2026-06-19', 2026, false, '端午节'),
    ('2026-06-20', 2026, false, '端午节'),
    ('2026-06-21', 2026, false, '端午节'),
    ('2026-09-25', 2026, false, '中秋节'),
    ('2026-09-26', 2026, false, '中秋节'),
    ('2026-09-27', 2026, false, '中秋节'),
    ('2026-10-01', 2026, false, '国庆节'),
    ('2026-10-02', 2026, false, '国庆节'),
    ('2026-10-03', 2026, false, '国庆节'),
    ('2026-10-04', 2026, false, '国庆节'),
    ('2026-10-05', 2026, false, '国庆节'),
    ('2026-10-06', 2026, false, '国庆节'),
    ('2026-10-07', 2026, false, '国庆节'),
    ('2026-01-04', 2026, true, '元旦'),
    ('2026-02-14', 2026, true, '春节'),
    ('2026-02-28', 2026, true, '春节'),
    ('2026-05-09', 2026, true, '劳动节'),
    ('2026-09-20', 2026, true, '国庆节'),
    ('2026-10-10', 2026, true, '国庆节');
