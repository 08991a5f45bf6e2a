import { defineConfig } from "drizzle-kit";
import { loadConfig } from "./kit/api/src/config";

export default defineConfig({
  dialect: "postgresql",
  // Each domain keeps its tables beside its code (kit/api/src/domains/<domain>/schema.ts; one table
  // that would take the KYC schema past the size rule in a file of its own).
  schema: ["./kit/api/src/domains/*/schema.ts", "./kit/api/src/domains/kyc/data-keys-schema.ts"],
  out: "./drizzle",
  dbCredentials: { url: loadConfig().db.url },
  strict: true,
  verbose: true,
});
