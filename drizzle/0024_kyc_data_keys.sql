CREATE TABLE "kyc_data_keys" (
	"application_id" uuid PRIMARY KEY NOT NULL,
	"wrapped_key" "bytea",
	"master_key_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"destroyed_at" timestamp with time zone,
	CONSTRAINT "kyc_data_keys_state_check" CHECK (("kyc_data_keys"."wrapped_key" is null) = ("kyc_data_keys"."master_key_id" is null) and ("kyc_data_keys"."wrapped_key" is null) = ("kyc_data_keys"."destroyed_at" is not null))
);
--> statement-breakpoint
ALTER TABLE "kyc_documents" ADD COLUMN "encrypted" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "kyc_data_keys" ADD CONSTRAINT "kyc_data_keys_application_id_kyc_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."kyc_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "kyc_data_keys_master_idx" ON "kyc_data_keys" USING btree ("master_key_id","application_id") WHERE "kyc_data_keys"."wrapped_key" is not null;--> statement-breakpoint
-- A destroyed data key is a tombstone for good: no update may give it a key again and no delete
-- may remove it (a restore re-applies tombstones; a missing row would read as "never had a key").
CREATE FUNCTION kyc_data_keys_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.destroyed_at IS NOT NULL AND (TG_OP = 'DELETE' OR NEW.wrapped_key IS NOT NULL OR NEW.destroyed_at IS DISTINCT FROM OLD.destroyed_at) THEN
    RAISE EXCEPTION 'KYC data key of application % was destroyed; it cannot come back', OLD.application_id
      USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'KYC data keys are destroyed (wrapped_key set to null), never deleted' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;--> statement-breakpoint
CREATE TRIGGER kyc_data_keys_tombstone BEFORE UPDATE OR DELETE ON kyc_data_keys
  FOR EACH ROW EXECUTE FUNCTION kyc_data_keys_tombstone();
