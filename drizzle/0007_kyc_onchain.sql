CREATE TABLE "kyc_onchain_registrations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"application_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"wallet" text NOT NULL,
	"chain_id" integer NOT NULL,
	"identity_address" text,
	"claim_id" text,
	"country" integer NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"last_tx_hash" text,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"registered_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "kyc_onchain_registrations_status_check" CHECK ("kyc_onchain_registrations"."status" in ('pending', 'registered', 'failed', 'revoked')),
	CONSTRAINT "kyc_onchain_registrations_wallet_check" CHECK ("kyc_onchain_registrations"."wallet" ~ '^0x[0-9a-f]{40}$'),
	CONSTRAINT "kyc_onchain_registrations_country_check" CHECK ("kyc_onchain_registrations"."country" between 0 and 999)
);
--> statement-breakpoint
ALTER TABLE "kyc_onchain_registrations" ADD CONSTRAINT "kyc_onchain_registrations_application_id_kyc_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."kyc_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_onchain_registrations" ADD CONSTRAINT "kyc_onchain_registrations_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "kyc_onchain_registrations_wallet_idx" ON "kyc_onchain_registrations" USING btree ("chain_id","wallet");--> statement-breakpoint
CREATE INDEX "kyc_onchain_registrations_user_idx" ON "kyc_onchain_registrations" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "kyc_onchain_registrations_application_idx" ON "kyc_onchain_registrations" USING btree ("application_id");--> statement-breakpoint
CREATE INDEX "kyc_onchain_registrations_status_idx" ON "kyc_onchain_registrations" USING btree ("status","updated_at");