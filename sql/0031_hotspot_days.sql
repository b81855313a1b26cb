-- The hotspots' kept counts (DOMAIN §15): each day's cases (and repeat calls among them) and
-- rated visits, per category and region, written by the housekeeping pass once the day is over.
-- A month's report then sums some thousand rows a day instead of reading seven months of cases;
-- the days after `hotspot_kept.through` are read live. Derived, not the record: a copy of the
-- record for a benchmark clears it and it is kept again from the cases.
CREATE TABLE hotspot_days (
    day        date NOT NULL,
    category   text NOT NULL,
    region     text,
    cases      integer NOT NULL CHECK (cases >= 0),
    repeats    integer NOT NULL CHECK (repeats BETWEEN 0 AND cases),
    satisfied  integer NOT NULL CHECK (satisfied BETWEEN 0 AND rated),
    rated      integer NOT NULL CHECK (rated >= 0),
    UNIQUE NULLS NOT DISTINCT (day, category, region)
);

-- The last day kept; NULL until the first day with a case is over.
CREATE TABLE hotspot_kept (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    through   date
);
INSERT INTO hotspot_kept DEFAULT VALUES;

GRANT UPDATE ON hotspot_kept TO hotline_runtime;
GRANT DELETE ON hotspot_days TO hotline_runtime;
