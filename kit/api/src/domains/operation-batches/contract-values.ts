// The fixed values of the batches contract, shared with its tables (schema.ts CHECKs them).
// Plain constants, no import: the client reads the contract.

/** mint: `address,amount` lines; freeze: `address` lines (each wallet frozen whole). */
export const BATCH_KINDS = ["mint", "freeze"] as const;
export type BatchKind = (typeof BATCH_KINDS)[number];

/**
 * awaiting_upload → validating (submitted; the job reads the file) → invalid (errors by line, nothing
 * sent) | sending (every line valid and stored; one operation per chunk being recorded) → sent
 * (every chunk is an operation of the outbox, or refused by it with its reason).
 */
export const BATCH_STATUSES = ["awaiting_upload", "validating", "invalid", "sending", "sent"] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
