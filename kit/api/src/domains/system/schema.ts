// The system domain owns no tables. Its migration (drizzle/0000_extensions.sql) enables the
// Postgres extensions other domains rely on, so they exist before any domain's tables do.
export {};
