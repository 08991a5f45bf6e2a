ALTER TABLE "token_operations" DROP CONSTRAINT "token_operations_kind_check";--> statement-breakpoint
ALTER TABLE "token_operations" ALTER COLUMN "token" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "token_operations" ALTER COLUMN "requested_by" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "token_operations" ADD COLUMN "target" text;--> statement-breakpoint
ALTER TABLE "token_operations" ADD COLUMN "cause" text;--> statement-breakpoint
CREATE INDEX "token_operations_system_wallet_idx" ON "token_operations" USING btree (("parameters"->>'wallet'),"created_at") WHERE "token_operations"."requested_by" is null and "token_operations"."status" in ('pending', 'signed', 'submitted');--> statement-breakpoint
ALTER TABLE "token_operations" ADD CONSTRAINT "token_operations_requester_check" CHECK (("token_operations"."requested_by" is null) <> ("token_operations"."cause" is null));--> statement-breakpoint
ALTER TABLE "token_operations" ADD CONSTRAINT "token_operations_token_required_check" CHECK ("token_operations"."token" is not null or "token_operations"."kind" in ('identity_register', 'identity_revoke'));--> statement-breakpoint
ALTER TABLE "token_operations" ADD CONSTRAINT "token_operations_target_check" CHECK ("token_operations"."target" ~ '^0x[0-9a-f]{40}$');--> statement-breakpoint
ALTER TABLE "token_operations" ADD CONSTRAINT "token_operations_contract_check" CHECK ("token_operations"."token" is not null or "token_operations"."target" is not null);--> statement-breakpoint
ALTER TABLE "token_operations" ADD CONSTRAINT "token_operations_kind_check" CHECK ("token_operations"."kind" in ('mint', 'burn', 'pause', 'unpause', 'freeze', 'unfreeze', 'freeze_partial', 'unfreeze_partial', 'forced_transfer', 'recover', 'create', 'identity_register', 'identity_revoke'));