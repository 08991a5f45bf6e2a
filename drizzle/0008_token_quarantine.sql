ALTER TABLE "token_balances" ADD COLUMN "opening_balance" numeric(78, 0);--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "opening_block" bigint;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "quarantined_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "quarantine_reason" text;