// Runs once per test worker before any test file: builds the migrated template database if needed,
// so the files that then run in parallel only clone it.
import { ensureTemplateDatabase } from "./databases";

await ensureTemplateDatabase();
