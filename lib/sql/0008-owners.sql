-- Why a pair waits for a person when its probability alone would have
-- merged it: "two owners: A and B". NULL for pairs below the merge
-- threshold.
ALTER TABLE match_reviews ADD COLUMN reason TEXT;
