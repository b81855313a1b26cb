-- The "three rates" scheme (三率, DOMAIN §9): response 20, resolution 40, satisfaction 40, with the
-- same deductions as the default scheme. A manager picks the scheme in force; each keeps its own
-- weights, so switching back and forth loses nothing.
ALTER TABLE appraisal_weights
    ADD COLUMN scheme text NOT NULL DEFAULT 'default' CHECK (scheme IN ('default', 'three_rates')),
    ADD COLUMN three_rates_response numeric(5,2) NOT NULL DEFAULT 20 CHECK (three_rates_response >= 0),
    ADD COLUMN three_rates_resolution numeric(5,2) NOT NULL DEFAULT 40 CHECK (three_rates_resolution >= 0),
    ADD COLUMN three_rates_satisfaction numeric(5,2) NOT NULL DEFAULT 40 CHECK (three_rates_satisfaction >= 0),
    ADD CONSTRAINT appraisal_weights_three_rates_out_of_100
        CHECK (three_rates_response + three_rates_resolution + three_rates_satisfaction = 100);

-- Shape 2 of a published report adds the response rate, replies sent back, the scheme and the
-- roll-up; revisions of shape 1 stay as they were stored.
CREATE INDEX reply_reviews_sent_back ON reply_reviews (reviewed_at) WHERE decision = 'sent_back';

-- A reply still under review when the case's work ends (withdrawn, merged away) never reaches
-- anyone: it ends `cancelled`, and leaves no reviewer waiting.
ALTER TABLE replies DROP CONSTRAINT replies_status_check;
ALTER TABLE replies ADD CONSTRAINT replies_status_check
    CHECK (status IN ('under_review', 'approved', 'sent_back', 'cancelled'));
