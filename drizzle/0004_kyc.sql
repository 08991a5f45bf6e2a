CREATE TABLE "kyc_applications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" text NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"first_name" text,
	"last_name" text,
	"nationality" text,
	"country_of_residence" text,
	"residency_status" text,
	"address" jsonb,
	"tax_residencies" text[],
	"date_of_birth_encrypted" "bytea",
	"national_id_encrypted" "bytea",
	"pii_key_id" text,
	"reviewer_id" text,
	"claimed_at" timestamp with time zone,
	"submitted_at" timestamp with time zone,
	"decided_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"decision_reason" text,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "kyc_applications_status_check" CHECK ("kyc_applications"."status" in ('draft', 'submitted', 'in_review', 'approved', 'rejected', 'changes_requested', 'expired', 'revoked')),
	CONSTRAINT "kyc_applications_residency_check" CHECK ("kyc_applications"."residency_status" is null or "kyc_applications"."residency_status" in ('citizen', 'permanent_resident', 'temporary_resident', 'non_resident')),
	CONSTRAINT "kyc_applications_pii_key_check" CHECK (("kyc_applications"."date_of_birth_encrypted" is null and "kyc_applications"."national_id_encrypted" is null) or "kyc_applications"."pii_key_id" is not null),
	CONSTRAINT "kyc_applications_approved_check" CHECK ("kyc_applications"."status" <> 'approved' or ("kyc_applications"."expires_at" is not null and "kyc_applications"."decided_at" is not null))
);
--> statement-breakpoint
CREATE TABLE "kyc_document_access" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"document_id" uuid NOT NULL,
	"application_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"ip_address" text,
	"user_agent" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "kyc_documents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"application_id" uuid NOT NULL,
	"type" text NOT NULL,
	"bucket_key" text NOT NULL,
	"file_name" text NOT NULL,
	"content_type" text NOT NULL,
	"size" integer NOT NULL,
	"sha256" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"confirmed_at" timestamp with time zone,
	"deleting_at" timestamp with time zone,
	CONSTRAINT "kyc_documents_bucket_key_unique" UNIQUE("bucket_key"),
	CONSTRAINT "kyc_documents_type_check" CHECK ("kyc_documents"."type" in ('passport', 'national_id', 'driving_licence', 'proof_of_address', 'selfie', 'other')),
	CONSTRAINT "kyc_documents_content_type_check" CHECK ("kyc_documents"."content_type" in ('image/jpeg', 'image/png', 'application/pdf')),
	CONSTRAINT "kyc_documents_size_check" CHECK ("kyc_documents"."size" between 1 and 10485760),
	CONSTRAINT "kyc_documents_sha256_check" CHECK ("kyc_documents"."sha256" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "kyc_status_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"application_id" uuid NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"actor_id" text,
	"reason" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_applications" ADD CONSTRAINT "kyc_applications_reviewer_id_user_id_fk" FOREIGN KEY ("reviewer_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_document_access" ADD CONSTRAINT "kyc_document_access_application_id_kyc_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."kyc_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_document_access" ADD CONSTRAINT "kyc_document_access_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_documents" ADD CONSTRAINT "kyc_documents_application_id_kyc_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."kyc_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_status_history" ADD CONSTRAINT "kyc_status_history_application_id_kyc_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."kyc_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kyc_status_history" ADD CONSTRAINT "kyc_status_history_actor_id_user_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "kyc_applications_open_per_user_idx" ON "kyc_applications" USING btree ("user_id") WHERE "kyc_applications"."status" not in ('rejected', 'expired', 'revoked');--> statement-breakpoint
CREATE INDEX "kyc_applications_user_idx" ON "kyc_applications" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "kyc_applications_queue_idx" ON "kyc_applications" USING btree ("status","submitted_at","id");--> statement-breakpoint
CREATE INDEX "kyc_applications_reviewer_idx" ON "kyc_applications" USING btree ("reviewer_id","status","submitted_at","id");--> statement-breakpoint
CREATE INDEX "kyc_applications_country_idx" ON "kyc_applications" USING btree ("country_of_residence","status","submitted_at","id");--> statement-breakpoint
CREATE INDEX "kyc_applications_name_search_idx" ON "kyc_applications" USING gin ((lower(coalesce("first_name", '') || ' ' || coalesce("last_name", ''))) gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "kyc_applications_expiry_idx" ON "kyc_applications" USING btree ("expires_at") WHERE "kyc_applications"."status" = 'approved';--> statement-breakpoint
CREATE INDEX "kyc_document_access_document_idx" ON "kyc_document_access" USING btree ("document_id","at");--> statement-breakpoint
CREATE INDEX "kyc_document_access_application_idx" ON "kyc_document_access" USING btree ("application_id","at");--> statement-breakpoint
CREATE INDEX "kyc_document_access_user_idx" ON "kyc_document_access" USING btree ("user_id","at");--> statement-breakpoint
CREATE INDEX "kyc_documents_application_idx" ON "kyc_documents" USING btree ("application_id","created_at");--> statement-breakpoint
CREATE INDEX "kyc_documents_unconfirmed_idx" ON "kyc_documents" USING btree ("created_at") WHERE "kyc_documents"."confirmed_at" is null or "kyc_documents"."deleting_at" is not null;--> statement-breakpoint
CREATE INDEX "kyc_status_history_application_idx" ON "kyc_status_history" USING btree ("application_id","id");--> statement-breakpoint
-- The status graph, enforced here as well as in kyc/lifecycle.ts: an application starts as a
-- draft, changes status only along these edges, never changes owner, and every update bumps its
-- version (the optimistic-concurrency token) and updated_at.
CREATE FUNCTION kyc_applications_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
    ('in_review', 'rejected'),
    ('in_review', 'changes_requested'),
    ('changes_requested', 'submitted'),
    ('approved', 'expired'),
    ('approved', 'revoked')
  ) THEN
    RAISE EXCEPTION 'illegal KYC status transition: % -> %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER kyc_applications_guard BEFORE INSERT OR UPDATE ON kyc_applications
  FOR EACH ROW EXECUTE FUNCTION kyc_applications_guard();
--> statement-breakpoint
-- The audit trail is append-only: rows are never changed or removed, whatever the role.
CREATE FUNCTION kyc_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER kyc_status_history_append_only BEFORE UPDATE OR DELETE ON kyc_status_history
  FOR EACH ROW EXECUTE FUNCTION kyc_append_only();
--> statement-breakpoint
CREATE TRIGGER kyc_status_history_no_truncate BEFORE TRUNCATE ON kyc_status_history
  FOR EACH STATEMENT EXECUTE FUNCTION kyc_append_only();
--> statement-breakpoint
CREATE TRIGGER kyc_document_access_append_only BEFORE UPDATE OR DELETE ON kyc_document_access
  FOR EACH ROW EXECUTE FUNCTION kyc_append_only();
--> statement-breakpoint
CREATE TRIGGER kyc_document_access_no_truncate BEFORE TRUNCATE ON kyc_document_access
  FOR EACH STATEMENT EXECUTE FUNCTION kyc_append_only();
