CREATE TABLE "operation_batch_chunks" (
	"batch_id" uuid NOT NULL,
	"chunk" integer NOT NULL,
	"first_line" integer NOT NULL,
	"last_line" integer NOT NULL,
	"lines" integer NOT NULL,
	"operation_id" uuid,
	"error" text,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "operation_batch_chunks_batch_id_chunk_pk" PRIMARY KEY("batch_id","chunk")
);
--> statement-breakpoint
CREATE TABLE "operation_batch_lines" (
	"batch_id" uuid NOT NULL,
	"line" integer NOT NULL,
	"wallet" text NOT NULL,
	"amount" text,
	CONSTRAINT "operation_batch_lines_batch_id_line_pk" PRIMARY KEY("batch_id","line")
);
--> statement-breakpoint
CREATE TABLE "operation_batches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"chain_id" integer NOT NULL,
	"token" text NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'awaiting_upload' NOT NULL,
	"created_by" text NOT NULL,
	"file_key" text NOT NULL,
	"size" integer NOT NULL,
	"sha256" text NOT NULL,
	"line_count" integer,
	"error_count" integer DEFAULT 0 NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"submitted_at" timestamp with time zone,
	"validated_at" timestamp with time zone,
	"file_deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "operation_batches_kind_check" CHECK ("operation_batches"."kind" in ('mint', 'freeze')),
	CONSTRAINT "operation_batches_status_check" CHECK ("operation_batches"."status" in ('awaiting_upload', 'validating', 'invalid', 'sending', 'sent')),
	CONSTRAINT "operation_batches_token_check" CHECK ("operation_batches"."token" ~ '^0x[0-9a-f]{40}$'),
	CONSTRAINT "operation_batches_sha256_check" CHECK ("operation_batches"."sha256" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
ALTER TABLE "token_state_events" ADD COLUMN "block_time" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "operation_batch_chunks" ADD CONSTRAINT "operation_batch_chunks_batch_id_operation_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."operation_batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "operation_batch_chunks" ADD CONSTRAINT "operation_batch_chunks_operation_id_token_operations_id_fk" FOREIGN KEY ("operation_id") REFERENCES "public"."token_operations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "operation_batch_lines" ADD CONSTRAINT "operation_batch_lines_batch_id_operation_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."operation_batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "operation_batches" ADD CONSTRAINT "operation_batches_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "operation_batches_token_idx" ON "operation_batches" USING btree ("chain_id","token","created_at");--> statement-breakpoint
CREATE INDEX "operation_batches_file_idx" ON "operation_batches" USING btree ("created_at") WHERE "operation_batches"."file_deleted_at" is null;--> statement-breakpoint
CREATE INDEX "token_balances_frozen_idx" ON "token_balances" USING btree ("chain_id","token","holder") WHERE "token_balances"."frozen" or "token_balances"."frozen_amount" > 0;--> statement-breakpoint
CREATE INDEX "token_state_events_contract_idx" ON "token_state_events" USING btree ("chain_id","contract","block_number" DESC NULLS LAST,"log_index" DESC NULLS LAST);