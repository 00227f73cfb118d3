// uvu has no `rejects`: the one helper that checks a failure by its stable code.
import * as assert from 'uvu/assert';
import { SaveImageError, type ErrorCode } from '../../lib/errors.js';

/** Awaits `fn`, asserts it rejects with a SaveImageError of `code`, and returns the error. */
export async function rejectsWithCode(fn: () => unknown, code: ErrorCode): Promise<SaveImageError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  if (!SaveImageError.is(caught)) {
    assert.unreachable(`expected SaveImageError ${code}, got ${caught === undefined ? 'no error' : String(caught)}`);
  }
  const error = caught as SaveImageError;
  assert.is(error.code, code, `${error.message}`);
  return error;
}

/** The code a synchronous call throws ('no error' when it returns; the text of a non-savekit error). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return SaveImageError.is(error) ? error.code : String(error);
  }
  return 'no error';
}
