CREATE TABLE "token_grants" (
	"chain_id" integer NOT NULL,
	"token" text NOT NULL,
	"user_id" text NOT NULL,
	"granted_by" text,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "token_grants_chain_id_token_user_id_pk" PRIMARY KEY("chain_id","token","user_id")
);
--> statement-breakpoint
CREATE TABLE "token_operation_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"operation_id" uuid NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"actor_id" text,
	"reason" text,
	"tx_hash" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "token_operation_policies" (
	"chain_id" integer NOT NULL,
	"token" text NOT NULL,
	"approval_kinds" jsonb NOT NULL,
	"mint_threshold" numeric(78, 0),
	"updated_by" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "token_operation_policies_chain_id_token_pk" PRIMARY KEY("chain_id","token")
);
--> statement-breakpoint
CREATE TABLE "token_operations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"chain_id" integer NOT NULL,
	"token" text NOT NULL,
	"kind" text NOT NULL,
	"parameters" jsonb NOT NULL,
	"requested_by" text NOT NULL,
	"idempotency_key" text,
	"request_hash" text NOT NULL,
	"status" text NOT NULL,
	"needs_approval" boolean DEFAULT false NOT NULL,
	"decided_by" text,
	"decision_reason" text,
	"signer" text,
	"nonce" bigint,
	"raw_transaction" text,
	"tx_hash" text,
	"replaced_hashes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"sent_at_block" bigint,
	"block_number" bigint,
	"block_hash" text,
	"error_code" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"confirmed_at" timestamp with time zone,
	CONSTRAINT "token_operations_kind_check" CHECK ("token_operations"."kind" in ('mint', 'burn', 'pause', 'unpause', 'freeze', 'unfreeze', 'freeze_partial', 'unfreeze_partial', 'forced_transfer', 'recover')),
	CONSTRAINT "token_operations_status_check" CHECK ("token_operations"."status" in ('awaiting_approval', 'pending', 'signed', 'submitted', 'confirmed', 'failed', 'rejected')),
	CONSTRAINT "token_operations_token_check" CHECK ("token_operations"."token" ~ '^0x[0-9a-f]{40}$')
);
--> statement-breakpoint
ALTER TABLE "token_grants" ADD CONSTRAINT "token_grants_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "token_grants" ADD CONSTRAINT "token_grants_granted_by_user_id_fk" FOREIGN KEY ("granted_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "token_operation_history" ADD CONSTRAINT "token_operation_history_operation_id_token_operations_id_fk" FOREIGN KEY ("operation_id") REFERENCES "public"."token_operations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "token_operation_history" ADD CONSTRAINT "token_operation_history_actor_id_user_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "token_operation_policies" ADD CONSTRAINT "token_operation_policies_updated_by_user_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "token_operations" ADD CONSTRAINT "token_operations_requested_by_user_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "token_operations" ADD CONSTRAINT "token_operations_decided_by_user_id_fk" FOREIGN KEY ("decided_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "token_grants_user_idx" ON "token_grants" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "token_operation_history_operation_idx" ON "token_operation_history" USING btree ("operation_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "token_operations_idempotency_idx" ON "token_operations" USING btree ("requested_by","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "token_operations_nonce_idx" ON "token_operations" USING btree ("chain_id","signer","nonce") WHERE "token_operations"."nonce" is not null;--> statement-breakpoint
CREATE INDEX "token_operations_token_idx" ON "token_operations" USING btree ("chain_id","token","created_at","id");--> statement-breakpoint
CREATE INDEX "token_operations_token_updated_idx" ON "token_operations" USING btree ("chain_id","token","updated_at");--> statement-breakpoint
CREATE INDEX "token_operations_open_idx" ON "token_operations" USING btree ("status","created_at") WHERE "token_operations"."status" in ('pending', 'signed', 'submitted');--> statement-breakpoint
-- The operations' audit trail is append-only: rows are never changed or removed, whatever the role.
CREATE FUNCTION token_operations_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER token_operation_history_append_only BEFORE UPDATE OR DELETE ON token_operation_history
  FOR EACH ROW EXECUTE FUNCTION token_operations_append_only();
--> statement-breakpoint
CREATE TRIGGER token_operation_history_no_truncate BEFORE TRUNCATE ON token_operation_history
  FOR EACH STATEMENT EXECUTE FUNCTION token_operations_append_only();
