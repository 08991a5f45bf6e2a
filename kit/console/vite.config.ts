import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the api at /console (kit/api/src/http/console.ts). `bun run dev` here proxies the api
// calls to a Kit on KIT_URL (default: the `bun run dev` one), so the cookie stays first-party.
const kit = process.env.KIT_URL ?? "http://localhost:3000";

export default defineConfig({
  base: "/console/",
  plugins: [react()],
  // The workspace's client from source (as tsconfig.json's paths do), not its built dist: always fresh.
  resolve: { alias: { "@kit/client": fileURLToPath(new URL("../client/src/index.ts", import.meta.url)) } },
  build: { outDir: "dist", emptyOutDir: true },
  server: { proxy: { "/rpc": kit, "/api": kit } },
});
