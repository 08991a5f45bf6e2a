CREATE TABLE "kyc_erasure_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone,
	"decided_by" text,
	"refusal_reason" text,
	"erased_applications" uuid[],
	CONSTRAINT "kyc_erasure_requests_status_check" CHECK ("kyc_erasure_requests"."status" in ('open', 'approved', 'refused', 'withdrawn')),
	CONSTRAINT "kyc_erasure_requests_decision_check" CHECK (("kyc_erasure_requests"."status" = 'open') = ("kyc_erasure_requests"."decided_at" is null) and ("kyc_erasure_requests"."status" = 'refused') = ("kyc_erasure_requests"."refusal_reason" is not null) and ("kyc_erasure_requests"."status" in ('approved', 'refused')) = ("kyc_erasure_requests"."decided_by" is not null))
);
--> statement-breakpoint
DROP INDEX "kyc_applications_open_per_user_idx";--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "erased_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "kyc_erasure_requests" ADD CONSTRAINT "kyc_erasure_requests_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_erasure_requests" ADD CONSTRAINT "kyc_erasure_requests_decided_by_user_id_fk" FOREIGN KEY ("decided_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "kyc_erasure_requests_open_idx" ON "kyc_erasure_requests" USING btree ("user_id") WHERE "kyc_erasure_requests"."status" = 'open';--> statement-breakpoint
CREATE INDEX "kyc_erasure_requests_list_idx" ON "kyc_erasure_requests" USING btree ("status","requested_at","id");--> statement-breakpoint
CREATE INDEX "kyc_erasure_requests_user_idx" ON "kyc_erasure_requests" USING btree ("user_id","requested_at");--> statement-breakpoint
CREATE INDEX "kyc_applications_retention_idx" ON "kyc_applications" USING btree ("status","updated_at") WHERE "kyc_applications"."erased_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "kyc_applications_open_per_user_idx" ON "kyc_applications" USING btree ("user_id") WHERE "kyc_applications"."status" not in ('rejected', 'expired', 'revoked') and "kyc_applications"."erased_at" is null;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_erased_check" CHECK ("kyc_applications"."erased_at" is null or ("kyc_applications"."first_name" is null and "kyc_applications"."last_name" is null and "kyc_applications"."nationality" is null and "kyc_applications"."country_of_residence" is null and "kyc_applications"."residency_status" is null and "kyc_applications"."address" is null and "kyc_applications"."tax_residencies" is null and "kyc_applications"."date_of_birth_encrypted" is null and "kyc_applications"."national_id_encrypted" is null and "kyc_applications"."pii_key_id" is null and "kyc_applications"."decision_reason" is null and "kyc_applications"."internal_note" is null and ("kyc_applications"."risk_reason" is null or "kyc_applications"."risk_reason" = '[erased]') and ("kyc_applications"."block_lift_reason" is null or "kyc_applications"."block_lift_reason" = '[erased]')));--> statement-breakpoint
-- Erasure (domains/kyc/erasure.ts). An application is erased once, in place: its personal fields
-- cleared (the CHECK above), its status kept. After that its row changes only to have a final
-- rejection's block lifted (the reason then stays '[erased]'; the audit trail has the lift).
-- Everything else is as in 0022.
CREATE OR REPLACE FUNCTION kyc_applications_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'draft' THEN
      RAISE EXCEPTION 'a KYC application starts as a draft, not %', NEW.status USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.erased_at IS NOT NULL THEN
      RAISE EXCEPTION 'a KYC application does not start erased' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF OLD.erased_at IS NOT NULL THEN
    IF OLD.block_lifted_at IS NULL AND NEW.block_lifted_at IS NOT NULL AND NEW.block_lift_reason = '[erased]'
       AND to_jsonb(NEW) - ARRAY['block_lifted_at', 'block_lifted_by', 'block_lift_reason', 'version', 'updated_at']
         = to_jsonb(OLD) - ARRAY['block_lifted_at', 'block_lifted_by', 'block_lift_reason', 'version', 'updated_at'] THEN
      NEW.version := OLD.version + 1;
      NEW.updated_at := now();
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'KYC application % was erased; it does not change any more', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.erased_at IS NOT NULL AND NEW.status IS DISTINCT FROM OLD.status THEN
    RAISE EXCEPTION 'erasing a KYC application keeps its status' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
    RAISE EXCEPTION 'a KYC application cannot change owner' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status AND (OLD.status, NEW.status) NOT IN (
    ('draft', 'submitted'),
    ('submitted', 'in_review'),
    ('in_review', 'approved'),
    ('in_review', 'approval_pending'),
    ('in_review', 'rejected'),
    ('in_review', 'changes_requested'),
    ('approval_pending', 'approved'),
    ('approval_pending', 'rejected'),
    ('approval_pending', 'changes_requested'),
    ('changes_requested', 'submitted'),
    ('approved', 'expired'),
    ('approved', 'revoked')
  ) THEN
    RAISE EXCEPTION 'illegal KYC status transition: % -> %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  IF current_setting('kit.pii_rekey', true) = 'on'
     AND to_jsonb(NEW) - ARRAY['date_of_birth_encrypted', 'national_id_encrypted', 'pii_key_id']
       = to_jsonb(OLD) - ARRAY['date_of_birth_encrypted', 'national_id_encrypted', 'pii_key_id'] THEN
    RETURN NEW;
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
--> statement-breakpoint
-- The status history stays append-only, with one exception: once its application is erased, a
-- row's free texts (the internal note, the message to the applicant) may be cleared, and nothing
-- else of it changed. Statuses, actors, labels and times are the pseudonymous record that remains.
CREATE FUNCTION kyc_status_history_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.reason IS NULL AND NEW.message_to_applicant IS NULL
     AND to_jsonb(NEW) - ARRAY['reason', 'message_to_applicant']
       = to_jsonb(OLD) - ARRAY['reason', 'message_to_applicant']
     AND EXISTS (SELECT 1 FROM kyc_applications WHERE id = OLD.application_id AND erased_at IS NOT NULL) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
DROP TRIGGER kyc_status_history_append_only ON kyc_status_history;
--> statement-breakpoint
CREATE TRIGGER kyc_status_history_append_only BEFORE UPDATE OR DELETE ON kyc_status_history
  FOR EACH ROW EXECUTE FUNCTION kyc_status_history_guard();
--> statement-breakpoint
-- A freeze case is evidence: never deleted, changed only to be lifted, once (who, when, why), and,
-- once its application is erased, its lift reason (free text) replaced by '[erased]'.
CREATE OR REPLACE FUNCTION kyc_freezes_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'kyc_freezes: a freeze case is never deleted' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.lifted_at IS NOT NULL AND NEW.lift_reason = '[erased]'
     AND to_jsonb(NEW) - 'lift_reason' = to_jsonb(OLD) - 'lift_reason'
     AND EXISTS (SELECT 1 FROM kyc_applications WHERE id = OLD.application_id AND erased_at IS NOT NULL) THEN
    RETURN NEW;
  END IF;
  IF OLD.lifted_at IS NOT NULL
    OR (NEW.id, NEW.application_id, NEW.user_id, NEW.category, NEW.frozen_by, NEW.created_at)
      IS DISTINCT FROM (OLD.id, OLD.application_id, OLD.user_id, OLD.category, OLD.frozen_by, OLD.created_at) THEN
    RAISE EXCEPTION 'kyc_freezes: a freeze case only changes to be lifted, once' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;
