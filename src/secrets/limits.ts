/** Secrets are keys and tokens, not documents. */
export const MAX_SECRET_BYTES = 64 * 1024;
