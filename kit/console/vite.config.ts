import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the api at /console (kit/api/src/http/console.ts). `bun run dev` here proxies the api
// calls to a Kit on KIT_URL (default: the `bun run dev` one), so the cookie stays first-party.
const kit = process.env.KIT_URL ?? "http://localhost:3000";

export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true },
  server: { proxy: { "/rpc": kit, "/api": kit } },
});
