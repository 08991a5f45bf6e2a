CREATE TABLE "currencies" (
	"code" char(3) PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"minor_units" smallint NOT NULL,
	CONSTRAINT "currencies_code_check" CHECK ("currencies"."code" ~ '^[A-Z]{3}$'),
	CONSTRAINT "currencies_minor_units_check" CHECK ("currencies"."minor_units" between 0 and 4)
);
--> statement-breakpoint
CREATE TABLE "fx_rates" (
	"base" char(3) NOT NULL,
	"quote" char(3) NOT NULL,
	"provider" text NOT NULL,
	"rate" numeric NOT NULL,
	"effective_at" timestamp with time zone NOT NULL,
	"fetched_at" timestamp with time zone NOT NULL,
	"set_by" text,
	CONSTRAINT "fx_rates_pair_provider_effective_unique" UNIQUE("base","quote","provider","effective_at"),
	CONSTRAINT "fx_rates_provider_check" CHECK ("fx_rates"."provider" in ('ecb', 'er-api', 'manual')),
	CONSTRAINT "fx_rates_rate_check" CHECK ("fx_rates"."rate" > 0),
	CONSTRAINT "fx_rates_pair_check" CHECK ("fx_rates"."base" <> "fx_rates"."quote")
);
--> statement-breakpoint
CREATE TABLE "fx_rates_latest" (
	"base" char(3) NOT NULL,
	"quote" char(3) NOT NULL,
	"provider" text NOT NULL,
	"rate" numeric NOT NULL,
	"effective_at" timestamp with time zone NOT NULL,
	"fetched_at" timestamp with time zone NOT NULL,
	"set_by" text,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "fx_rates_latest_base_quote_provider_pk" PRIMARY KEY("base","quote","provider"),
	CONSTRAINT "fx_rates_latest_provider_check" CHECK ("fx_rates_latest"."provider" in ('ecb', 'er-api', 'manual')),
	CONSTRAINT "fx_rates_latest_rate_check" CHECK ("fx_rates_latest"."rate" > 0),
	CONSTRAINT "fx_rates_latest_pair_check" CHECK ("fx_rates_latest"."base" <> "fx_rates_latest"."quote")
);
--> statement-breakpoint
CREATE TABLE "notification_settings" (
	"user_id" text NOT NULL,
	"event_type" text NOT NULL,
	"channel" text NOT NULL,
	"enabled" boolean NOT NULL,
	"webhook_url" text,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "notification_settings_user_id_event_type_channel_pk" PRIMARY KEY("user_id","event_type","channel"),
	CONSTRAINT "notification_settings_event_check" CHECK ("notification_settings"."event_type" in ('kyc_status', 'token_transfer', 'fx_alert')),
	CONSTRAINT "notification_settings_channel_check" CHECK ("notification_settings"."channel" in ('email', 'push', 'webhook')),
	CONSTRAINT "notification_settings_webhook_check" CHECK (("notification_settings"."channel" = 'webhook') = ("notification_settings"."webhook_url" is not null) and ("notification_settings"."webhook_url" is null or "notification_settings"."webhook_url" like 'https://%'))
);
--> statement-breakpoint
CREATE TABLE "system_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"updated_by" text
);
--> statement-breakpoint
CREATE TABLE "user_settings" (
	"user_id" text PRIMARY KEY NOT NULL,
	"locale" text NOT NULL,
	"timezone" text NOT NULL,
	"currency" char(3) NOT NULL,
	"theme" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "user_settings_theme_check" CHECK ("user_settings"."theme" in ('light', 'dark', 'system'))
);
--> statement-breakpoint
ALTER TABLE "fx_rates" ADD CONSTRAINT "fx_rates_base_currencies_code_fk" FOREIGN KEY ("base") REFERENCES "public"."currencies"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fx_rates" ADD CONSTRAINT "fx_rates_quote_currencies_code_fk" FOREIGN KEY ("quote") REFERENCES "public"."currencies"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fx_rates_latest" ADD CONSTRAINT "fx_rates_latest_base_currencies_code_fk" FOREIGN KEY ("base") REFERENCES "public"."currencies"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fx_rates_latest" ADD CONSTRAINT "fx_rates_latest_quote_currencies_code_fk" FOREIGN KEY ("quote") REFERENCES "public"."currencies"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_settings" ADD CONSTRAINT "notification_settings_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "system_settings" ADD CONSTRAINT "system_settings_updated_by_user_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_settings" ADD CONSTRAINT "user_settings_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_settings" ADD CONSTRAINT "user_settings_currency_currencies_code_fk" FOREIGN KEY ("currency") REFERENCES "public"."currencies"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "fx_rates_pair_effective_idx" ON "fx_rates" USING btree ("base","quote","effective_at" DESC NULLS LAST);