import { defineConfig } from "drizzle-kit";
import { loadConfig } from "./kit/api/src/config";

export default defineConfig({
  dialect: "postgresql",
  // Each domain keeps its tables beside its code (kit/api/src/domains/<domain>/schema.ts).
  schema: "./kit/api/src/domains/*/schema.ts",
  out: "./drizzle",
  dbCredentials: { url: loadConfig().db.url },
  strict: true,
  verbose: true,
});
