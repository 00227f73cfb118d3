// The one error class of savekit. Callers branch on `code`, never on the message.
// Codes follow FORMAT.md section 6; `offset` is absolute in the image when it applies.

/** Every stable error code savekit can raise. Adding codes is fine; renaming is not. */
export const ERROR_CODES = [
  'ERR_TRUNCATED',
  'ERR_PARTIAL_IMAGE',
  'ERR_BAD_MAGIC',
  'ERR_UNSUPPORTED_VERSION',
  'ERR_BAD_DATA_LENGTH',
  'ERR_BAD_COOKIE_OFFSET',
  'ERR_XML_UNTERMINATED',
  'ERR_BAD_XML',
  'ERR_UNSUPPORTED_FORMAT',
  'ERR_PAYLOAD_MISMATCH',
  'ERR_BAD_STREAM',
  'ERR_MISSING_PROGRAM',
  'ERR_XML_TOO_LARGE',
  'ERR_SEAL_MISMATCH',
  'ERR_ABI_MISMATCH',
  'ERR_NO_BLOCK',
  'ERR_EXTENSIONS_PRESENT',
  'ERR_LOCKED',
  'ERR_RECOVERY_NEEDED',
  'ERR_BAD_JOURNAL',
  'ERR_NOT_SEEKABLE',
  'ERR_IO',
  'ERR_USAGE',
  'ERR_READ_ONLY',
  'ERR_IMAGE_CHANGED',
  'ERR_INTERRUPTED',
  'ERR_BAD_DELTA',
  'ERR_BAD_SIGNATURE',
  'ERR_BASE_MISMATCH',
  'ERR_OBJECT_NOT_FOUND',
  'ERR_STORE_DENIED',
  'ERR_STORE_UNREACHABLE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface SaveImageErrorDetails {
  /** Absolute byte offset in the image the problem was found at. */
  offset?: number;
  expected?: unknown;
  actual?: unknown;
  cause?: unknown;
}

const brand = Symbol.for('savekit.SaveImageError');

export class SaveImageError extends Error {
  override readonly name = 'SaveImageError';
  readonly code: ErrorCode;
  readonly offset: number | undefined;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly [brand] = true;

  constructor(code: ErrorCode, message: string, details: SaveImageErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.offset = details.offset;
    this.expected = details.expected;
    this.actual = details.actual;
  }

  /** True for a SaveImageError from any copy of this module (a brand, not instanceof). */
  static is(value: unknown): value is SaveImageError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

/** Errnos that mean "this may not be written here" (a read-only mount, a file mode, an ACL). */
const READ_ONLY_ERRNOS = new Set(['EROFS', 'EACCES', 'EPERM']);

/**
 * Wraps a Node.js system error (ENOENT, EIO, ENOSPC...) so the CLI reports it with a code.
 * With `writing`, a refusal to write (EROFS, EACCES, EPERM) is ERR_READ_ONLY: the user must
 * change where or as whom savekit writes, not retry.
 */
export function ioError(action: string, path: string, cause: unknown, options: { writing?: boolean } = {}): SaveImageError {
  if (SaveImageError.is(cause)) return cause;
  const sys = cause as NodeJS.ErrnoException;
  const message = sys instanceof Error ? sys.message : String(cause);
  const reason = sys?.code && !message.startsWith(`${sys.code}:`) ? `${sys.code}: ${message}` : message;
  const readOnly = options.writing === true && typeof sys?.code === 'string' && READ_ONLY_ERRNOS.has(sys.code);
  return new SaveImageError(readOnly ? 'ERR_READ_ONLY' : 'ERR_IO', `cannot ${action} ${path} (${reason})${readOnly ? ': it is read-only here' : ''}`, { cause });
}
