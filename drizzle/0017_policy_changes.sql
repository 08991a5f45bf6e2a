CREATE TABLE "token_policy_changes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"chain_id" integer NOT NULL,
	"token" text NOT NULL,
	"approval_kinds" jsonb NOT NULL,
	"mint_threshold" numeric(78, 0),
	"loosens" boolean NOT NULL,
	"status" text NOT NULL,
	"requested_by" text NOT NULL,
	"reason" text,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_by" text,
	"decision_reason" text,
	"decided_at" timestamp with time zone,
	CONSTRAINT "token_policy_changes_status_check" CHECK ("token_policy_changes"."status" in ('pending', 'applied', 'rejected', 'superseded')),
	CONSTRAINT "token_policy_changes_loosens_check" CHECK ("token_policy_changes"."status" <> 'pending' or "token_policy_changes"."loosens"),
	CONSTRAINT "token_policy_changes_four_eyes_check" CHECK ("token_policy_changes"."decided_by" is null or ("token_policy_changes"."decided_by" <> "token_policy_changes"."requested_by" or "token_policy_changes"."status" <> 'applied')),
	CONSTRAINT "token_policy_changes_decision_check" CHECK (("token_policy_changes"."loosens" and "token_policy_changes"."status" in ('applied', 'rejected')) = ("token_policy_changes"."decided_by" is not null))
);
--> statement-breakpoint
ALTER TABLE "token_policy_changes" ADD CONSTRAINT "token_policy_changes_requested_by_user_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "token_policy_changes" ADD CONSTRAINT "token_policy_changes_decided_by_user_id_fk" FOREIGN KEY ("decided_by") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "token_policy_changes_one_pending_idx" ON "token_policy_changes" USING btree ("chain_id","token") WHERE "token_policy_changes"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "token_policy_changes_token_idx" ON "token_policy_changes" USING btree ("chain_id","token","requested_at");