CREATE TABLE "identity_registrations" (
	"chain_id" integer NOT NULL,
	"registry" text COLLATE "C" NOT NULL,
	"wallet" text COLLATE "C" NOT NULL,
	"identity" text COLLATE "C" NOT NULL,
	"registered" boolean NOT NULL,
	"updated_block" bigint NOT NULL,
	CONSTRAINT "identity_registrations_chain_id_registry_wallet_pk" PRIMARY KEY("chain_id","registry","wallet")
);
--> statement-breakpoint
CREATE TABLE "indexer_blocks" (
	"chain_id" integer NOT NULL,
	"number" bigint NOT NULL,
	"hash" text COLLATE "C" NOT NULL,
	"parent_hash" text COLLATE "C" NOT NULL,
	CONSTRAINT "indexer_blocks_chain_id_number_pk" PRIMARY KEY("chain_id","number"),
	CONSTRAINT "indexer_blocks_hash_check" CHECK ("indexer_blocks"."hash" ~ '^0x[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "indexer_checkpoints" (
	"chain_id" integer PRIMARY KEY NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text COLLATE "C" NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "indexer_checkpoints_hash_check" CHECK ("indexer_checkpoints"."block_hash" ~ '^0x[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "token_balances" (
	"chain_id" integer NOT NULL,
	"token" text COLLATE "C" NOT NULL,
	"holder" text COLLATE "C" NOT NULL,
	"balance" numeric(78, 0) DEFAULT '0' NOT NULL,
	"frozen" boolean DEFAULT false NOT NULL,
	"frozen_amount" numeric(78, 0) DEFAULT '0' NOT NULL,
	"updated_block" bigint NOT NULL,
	CONSTRAINT "token_balances_chain_id_token_holder_pk" PRIMARY KEY("chain_id","token","holder"),
	CONSTRAINT "token_balances_balance_check" CHECK ("token_balances"."balance" >= 0),
	CONSTRAINT "token_balances_frozen_amount_check" CHECK ("token_balances"."frozen_amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "token_state_events" (
	"chain_id" integer NOT NULL,
	"contract" text COLLATE "C" NOT NULL,
	"tx_hash" text COLLATE "C" NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text COLLATE "C" NOT NULL,
	"kind" text NOT NULL,
	"subject" text COLLATE "C",
	"value" text,
	CONSTRAINT "token_state_events_chain_id_tx_hash_log_index_pk" PRIMARY KEY("chain_id","tx_hash","log_index"),
	CONSTRAINT "token_state_events_kind_check" CHECK ("token_state_events"."kind" in ('paused', 'unpaused', 'address_frozen', 'address_unfrozen', 'tokens_frozen', 'tokens_unfrozen', 'identity_registered', 'identity_removed'))
);
--> statement-breakpoint
CREATE TABLE "token_transfers" (
	"chain_id" integer NOT NULL,
	"token" text COLLATE "C" NOT NULL,
	"tx_hash" text COLLATE "C" NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text COLLATE "C" NOT NULL,
	"from" text COLLATE "C" NOT NULL,
	"to" text COLLATE "C" NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"block_time" timestamp with time zone,
	CONSTRAINT "token_transfers_chain_id_tx_hash_log_index_pk" PRIMARY KEY("chain_id","tx_hash","log_index"),
	CONSTRAINT "token_transfers_amount_check" CHECK ("token_transfers"."amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"chain_id" integer NOT NULL,
	"address" text COLLATE "C" NOT NULL,
	"name" text NOT NULL,
	"symbol" text NOT NULL,
	"decimals" smallint NOT NULL,
	"total_supply" numeric(78, 0) DEFAULT '0' NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"kind" text NOT NULL,
	"discovered_via" text NOT NULL,
	"deployment_block" bigint NOT NULL,
	"identity_registry" text COLLATE "C",
	"factory" text COLLATE "C",
	"catch_up_block" bigint,
	"discovered_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tokens_chain_id_address_pk" PRIMARY KEY("chain_id","address"),
	CONSTRAINT "tokens_address_check" CHECK ("tokens"."address" ~ '^0x[0-9a-f]{40}$'),
	CONSTRAINT "tokens_kind_check" CHECK ("tokens"."kind" in ('t-rex', 'erc20')),
	CONSTRAINT "tokens_discovered_via_check" CHECK ("tokens"."discovered_via" in ('factory', 'config')),
	CONSTRAINT "tokens_decimals_check" CHECK ("tokens"."decimals" between 0 and 255)
);
--> statement-breakpoint
CREATE INDEX "identity_registrations_wallet_idx" ON "identity_registrations" USING btree ("chain_id","wallet");--> statement-breakpoint
CREATE INDEX "token_balances_holders_idx" ON "token_balances" USING btree ("chain_id","token","balance" DESC NULLS LAST,"holder") WHERE "token_balances"."balance" > 0;--> statement-breakpoint
CREATE INDEX "token_balances_holder_idx" ON "token_balances" USING btree ("chain_id","holder");--> statement-breakpoint
CREATE INDEX "token_state_events_subject_idx" ON "token_state_events" USING btree ("chain_id","contract","subject","block_number");--> statement-breakpoint
CREATE INDEX "token_state_events_block_idx" ON "token_state_events" USING btree ("chain_id","block_number");--> statement-breakpoint
CREATE INDEX "token_transfers_token_block_idx" ON "token_transfers" USING btree ("chain_id","token","block_number" DESC NULLS LAST,"log_index" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "token_transfers_from_idx" ON "token_transfers" USING btree ("chain_id","from","block_number" DESC NULLS LAST,"log_index" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "token_transfers_to_idx" ON "token_transfers" USING btree ("chain_id","to","block_number" DESC NULLS LAST,"log_index" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "tokens_identity_registry_idx" ON "tokens" USING btree ("chain_id","identity_registry");