// Limits both ends of the bridge need: the contract enforces them, the renderer shows them. Kept
// apart from contract.ts so the renderer can read a number without bundling the zod schemas.

/**
 * Longest message the app sends, in UTF-16 units as the composer counts them. At most 3 UTF-8 bytes
 * per unit, it stays inside the module's default max_message_bytes (64 KiB).
 */
export const MAX_MESSAGE_CHARS = 16 * 1024;
