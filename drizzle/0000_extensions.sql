-- Extensions later domains rely on: trigram name search for the KYC reviewer queue and
-- case-insensitive text for e-mail addresses. Both ship with PostgreSQL (contrib).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS citext;
