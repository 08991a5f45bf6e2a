-- The reviewers' name search (`LIKE '%…%'` on the trigram-indexed name) is planned from the
-- statistics of that expression; at the default target a frequent fragment could be estimated at
-- a few dozen rows instead of tens of thousands, and the query then fetched and sorted every match
-- (bench/kyc-queue.ts: 239 ms p95 for a 3-letter fragment at 1M applications, 13 ms with this).
ALTER INDEX "kyc_applications_name_search_idx" ALTER COLUMN 1 SET STATISTICS 1000;
