ALTER TABLE "kyc_applications" DROP CONSTRAINT "kyc_applications_status_check";--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "internal_note" text;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "rejection_labels" text[];--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "rejection_final" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "block_lifted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "block_lifted_by" text;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "block_lift_reason" text;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "risk_level" text;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "risk_reason" text;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "risk_set_by" text;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "risk_set_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "approvals_required" integer;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "first_approver_id" text;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD COLUMN "first_approved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "kyc_documents" ADD COLUMN "feedback_label" text;--> statement-breakpoint
ALTER TABLE "kyc_documents" ADD COLUMN "feedback_message" text;--> statement-breakpoint
ALTER TABLE "kyc_documents" ADD COLUMN "feedback_by" text;--> statement-breakpoint
ALTER TABLE "kyc_documents" ADD COLUMN "feedback_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "kyc_status_history" ADD COLUMN "message_to_applicant" text;--> statement-breakpoint
ALTER TABLE "kyc_status_history" ADD COLUMN "labels" text[];--> statement-breakpoint
ALTER TABLE "kyc_status_history" ADD COLUMN "final" boolean;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_block_lifted_by_user_id_fk" FOREIGN KEY ("block_lifted_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_risk_set_by_user_id_fk" FOREIGN KEY ("risk_set_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_first_approver_id_user_id_fk" FOREIGN KEY ("first_approver_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_documents" ADD CONSTRAINT "kyc_documents_feedback_by_user_id_fk" FOREIGN KEY ("feedback_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "kyc_applications_blocked_idx" ON "kyc_applications" USING btree ("user_id") WHERE "kyc_applications"."rejection_final" and "kyc_applications"."block_lifted_at" is null;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_risk_check" CHECK ("kyc_applications"."risk_level" is null or "kyc_applications"."risk_level" in ('low', 'medium', 'high'));--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_risk_reason_check" CHECK (("kyc_applications"."risk_level" is null) = ("kyc_applications"."risk_reason" is null));--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_labels_check" CHECK ("kyc_applications"."rejection_labels" is null or "kyc_applications"."rejection_labels" <@ array['document_expired', 'document_unreadable', 'document_missing', 'data_mismatch', 'selfie_mismatch', 'sanctions_pep_match', 'adverse_media', 'suspected_fraud', 'underage', 'unsupported_country', 'duplicate_account', 'other']::text[]);--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_final_check" CHECK (not "kyc_applications"."rejection_final" or "kyc_applications"."status" = 'rejected');--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_block_lift_check" CHECK (("kyc_applications"."block_lifted_at" is null) = ("kyc_applications"."block_lifted_by" is null) and ("kyc_applications"."block_lifted_at" is null) = ("kyc_applications"."block_lift_reason" is null) and ("kyc_applications"."block_lifted_at" is null or "kyc_applications"."rejection_final"));--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_pending_check" CHECK ("kyc_applications"."status" <> 'approval_pending' or "kyc_applications"."first_approver_id" is not null);--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_status_check" CHECK ("kyc_applications"."status" in ('draft', 'submitted', 'in_review', 'approval_pending', 'approved', 'rejected', 'changes_requested', 'expired', 'revoked'));--> statement-breakpoint
ALTER TABLE "kyc_documents" ADD CONSTRAINT "kyc_documents_feedback_check" CHECK (("kyc_documents"."feedback_label" is null or "kyc_documents"."feedback_label" in ('document_expired', 'document_unreadable', 'data_mismatch', 'selfie_mismatch', 'other')) and ("kyc_documents"."feedback_label" is null) = ("kyc_documents"."feedback_by" is null) and ("kyc_documents"."feedback_label" is null) = ("kyc_documents"."feedback_at" is null));--> statement-breakpoint
-- Two-person approval: the first of two approvals moves an application in review to
-- approval_pending; a second reviewer approves it (or rejects it, or asks for changes). Everything
-- else is as in 0010.
CREATE OR REPLACE FUNCTION kyc_applications_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'draft' THEN
      RAISE EXCEPTION 'a KYC application starts as a draft, not %', NEW.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
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
