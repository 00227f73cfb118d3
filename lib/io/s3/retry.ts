// The one rule for requests to a store that went wrong (s3-client.ts): what is tried again (a
// body that broke off, or no answer), how often, and how long to wait first. A restarted
// radosgw answers after about 10 s, so reads try for about 32 s in all.
import { SaveImageError } from '../../errors.js';

/** Attempts at a read that lost its connection (they start over once bytes flow again). */
export const READ_ATTEMPTS = 8;
/** Aborting an upload is retried too: a store that comes back must not keep our parts. */
export const ABORT_ATTEMPTS = 7;
const FIRST_BACKOFF_MS = 250;

/** A failure worth another attempt: no answer from the store, or anything that is not one of its answers. */
export function isTransient(error: unknown): boolean {
  return SaveImageError.is(error) ? error.code === 'ERR_STORE_UNREACHABLE' : true;
}

/** The wait before attempt `attempt` (2 and on): 0.25 s, doubling. */
export function backoffMs(attempt: number): number {
  return FIRST_BACKOFF_MS * 2 ** Math.max(0, attempt - 2);
}

export function pauseBefore(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
}
