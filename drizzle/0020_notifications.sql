CREATE TABLE "fx_stale_episodes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"pairs" text[] NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"type" text NOT NULL,
	"recipients" text[] NOT NULL,
	"data" jsonb NOT NULL,
	"dedupe_key" text,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"dispatched_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	CONSTRAINT "notification_events_type_check" CHECK ("notification_events"."type" in ('kyc.submitted', 'kyc.changes_requested', 'kyc.approved', 'kyc.rejected', 'kyc.revoked', 'kyc.approval_expiring', 'kyc.queue_digest', 'wallet.eligible', 'wallet.eligibility_failed', 'token_operation.confirmed', 'token_operation.failed', 'token_operation.awaiting_approval', 'exchange_rates.stale', 'webhook.endpoint_disabled'))
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"user_id" text NOT NULL,
	"event_id" uuid NOT NULL,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"read_at" timestamp with time zone,
	CONSTRAINT "notifications_user_id_event_id_pk" PRIMARY KEY("user_id","event_id")
);
--> statement-breakpoint
ALTER TABLE "notification_settings" DROP CONSTRAINT "notification_settings_webhook_check";--> statement-breakpoint
ALTER TABLE "notification_settings" DROP CONSTRAINT "notification_settings_event_check";--> statement-breakpoint
ALTER TABLE "notification_settings" DROP CONSTRAINT "notification_settings_channel_check";--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_event_id_notification_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."notification_events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "fx_stale_episodes_open_idx" ON "fx_stale_episodes" USING btree ("started_at") WHERE "fx_stale_episodes"."ended_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "notification_events_dedupe_idx" ON "notification_events" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "notification_events_undispatched_idx" ON "notification_events" USING btree ("occurred_at","id") WHERE "notification_events"."dispatched_at" is null;--> statement-breakpoint
CREATE INDEX "notifications_page_idx" ON "notifications" USING btree ("user_id","created_at","event_id");--> statement-breakpoint
CREATE INDEX "notifications_unread_idx" ON "notifications" USING btree ("user_id","created_at","event_id") WHERE "notifications"."read_at" is null;--> statement-breakpoint
-- Existing switches: the e-mail switch of the old `kyc_status` becomes each KYC event's. Push (never
-- sent), token transfers and FX alerts have no counterpart in the catalogue; the one webhook URL is
-- replaced by webhook endpoints with their own event filters.
INSERT INTO "notification_settings" ("user_id", "event_type", "channel", "enabled", "updated_at")
SELECT s."user_id", e."type", 'email', s."enabled", s."updated_at"
FROM "notification_settings" s CROSS JOIN (VALUES ('kyc.submitted'), ('kyc.changes_requested'), ('kyc.approved'), ('kyc.rejected'), ('kyc.revoked'), ('kyc.approval_expiring')) AS e("type")
WHERE s."event_type" = 'kyc_status' AND s."channel" = 'email';--> statement-breakpoint
DELETE FROM "notification_settings" WHERE "event_type" IN ('kyc_status', 'token_transfer', 'fx_alert') OR "channel" NOT IN ('in_app', 'email');--> statement-breakpoint
ALTER TABLE "notification_settings" DROP COLUMN "webhook_url";--> statement-breakpoint
ALTER TABLE "notification_settings" ADD CONSTRAINT "notification_settings_event_check" CHECK ("notification_settings"."event_type" in ('kyc.submitted', 'kyc.changes_requested', 'kyc.approved', 'kyc.rejected', 'kyc.revoked', 'kyc.approval_expiring', 'kyc.queue_digest', 'wallet.eligible', 'wallet.eligibility_failed', 'token_operation.confirmed', 'token_operation.failed', 'token_operation.awaiting_approval', 'exchange_rates.stale', 'webhook.endpoint_disabled'));--> statement-breakpoint
ALTER TABLE "notification_settings" ADD CONSTRAINT "notification_settings_channel_check" CHECK ("notification_settings"."channel" in ('in_app', 'email'));