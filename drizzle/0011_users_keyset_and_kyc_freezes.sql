CREATE TABLE "kyc_freezes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"application_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"category" text NOT NULL,
	"frozen_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lifted_at" timestamp with time zone,
	"lifted_by" text,
	"lift_reason" text,
	CONSTRAINT "kyc_freezes_application_id_unique" UNIQUE("application_id"),
	CONSTRAINT "kyc_freezes_category_check" CHECK ("kyc_freezes"."category" in ('sanctions', 'fraud')),
	CONSTRAINT "kyc_freezes_lifted_check" CHECK (("kyc_freezes"."lifted_at" is null) = ("kyc_freezes"."lifted_by" is null) and ("kyc_freezes"."lifted_at" is null) = ("kyc_freezes"."lift_reason" is null))
);
--> statement-breakpoint
CREATE TABLE "kyc_wallet_freezes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"freeze_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"chain_id" integer NOT NULL,
	"wallet" text NOT NULL,
	"token" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"frozen_before" boolean DEFAULT false NOT NULL,
	"last_tx_hash" text,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"frozen_at" timestamp with time zone,
	"unfrozen_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "kyc_wallet_freezes_status_check" CHECK ("kyc_wallet_freezes"."status" in ('pending', 'frozen', 'failed', 'unfrozen')),
	CONSTRAINT "kyc_wallet_freezes_wallet_check" CHECK ("kyc_wallet_freezes"."wallet" ~ '^0x[0-9a-f]{40}$'),
	CONSTRAINT "kyc_wallet_freezes_token_check" CHECK ("kyc_wallet_freezes"."token" ~ '^0x[0-9a-f]{40}$')
);
--> statement-breakpoint
DROP INDEX "user_created_at_idx";--> statement-breakpoint
ALTER TABLE "kyc_freezes" ADD CONSTRAINT "kyc_freezes_application_id_kyc_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."kyc_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_freezes" ADD CONSTRAINT "kyc_freezes_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_freezes" ADD CONSTRAINT "kyc_freezes_frozen_by_user_id_fk" FOREIGN KEY ("frozen_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_freezes" ADD CONSTRAINT "kyc_freezes_lifted_by_user_id_fk" FOREIGN KEY ("lifted_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_wallet_freezes" ADD CONSTRAINT "kyc_wallet_freezes_freeze_id_kyc_freezes_id_fk" FOREIGN KEY ("freeze_id") REFERENCES "public"."kyc_freezes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_wallet_freezes" ADD CONSTRAINT "kyc_wallet_freezes_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "kyc_freezes_active_idx" ON "kyc_freezes" USING btree ("user_id") WHERE "kyc_freezes"."lifted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "kyc_wallet_freezes_wallet_token_idx" ON "kyc_wallet_freezes" USING btree ("chain_id","wallet","token");--> statement-breakpoint
CREATE INDEX "kyc_wallet_freezes_user_idx" ON "kyc_wallet_freezes" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "kyc_wallet_freezes_freeze_idx" ON "kyc_wallet_freezes" USING btree ("freeze_id");--> statement-breakpoint
CREATE INDEX "user_created_at_idx" ON "user" USING btree ("created_at","id");--> statement-breakpoint
-- A freeze case is evidence: never deleted, and changed only to be lifted, once (who, when, why).
CREATE FUNCTION kyc_freezes_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'kyc_freezes: a freeze case is never deleted' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.lifted_at IS NOT NULL
    OR (NEW.id, NEW.application_id, NEW.user_id, NEW.category, NEW.frozen_by, NEW.created_at)
      IS DISTINCT FROM (OLD.id, OLD.application_id, OLD.user_id, OLD.category, OLD.frozen_by, OLD.created_at) THEN
    RAISE EXCEPTION 'kyc_freezes: a freeze case only changes to be lifted, once' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER kyc_freezes_guard BEFORE UPDATE OR DELETE ON kyc_freezes
  FOR EACH ROW EXECUTE FUNCTION kyc_freezes_guard();
--> statement-breakpoint
CREATE TRIGGER kyc_freezes_no_truncate BEFORE TRUNCATE ON kyc_freezes
  FOR EACH STATEMENT EXECUTE FUNCTION kyc_append_only();
