ALTER TABLE "kyc_document_access" ALTER COLUMN "document_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "kyc_document_access" ADD COLUMN "kind" text DEFAULT 'document_url' NOT NULL;--> statement-breakpoint
ALTER TABLE "kyc_document_access" ADD CONSTRAINT "kyc_document_access_kind_check" CHECK ("kyc_document_access"."kind" in ('document_url', 'application_view'));--> statement-breakpoint
ALTER TABLE "kyc_document_access" ADD CONSTRAINT "kyc_document_access_document_check" CHECK (("kyc_document_access"."kind" = 'document_url') = ("kyc_document_access"."document_id" is not null));