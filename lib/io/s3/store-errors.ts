// A store's answer as a SaveImageError with a stable code (s3-client.ts): the address and the
// S3 code are named, never the request, which carries a signature.
import { SaveImageError } from '../../errors.js';
import type { ObjectAddress } from './address.js';

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The SaveImageError for what the SDK threw (a SaveImageError passes through as it is). */
export function storeError(error: unknown, address: ObjectAddress, action: string): SaveImageError {
  if (SaveImageError.is(error)) return error;
  const sdk = error as SdkError;
  const status = sdk.$metadata?.httpStatusCode;
  const name = sdk.Code ?? sdk.name ?? 'Error';
  const where = `${action} ${address.url}`;
  if (status === 412 || name === 'PreconditionFailed') {
    return new SaveImageError('ERR_IMAGE_CHANGED', `cannot ${where}: the object changed while savekit worked on it (the store answered 412 PreconditionFailed): another program wrote it; try again once it is done`, { cause: error });
  }
  if (name === 'NoSuchBucket') return new SaveImageError('ERR_OBJECT_NOT_FOUND', `cannot ${where}: no bucket ${address.bucket} (NoSuchBucket)`, { cause: error });
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchUpload') {
    return new SaveImageError('ERR_OBJECT_NOT_FOUND', `cannot ${where}: no such object (${name === 'NotFound' || name === 'Error' ? '404' : name})`, { cause: error });
  }
  if (status === 403 || status === 401 || /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|CredentialsProviderError|ExpiredToken/.test(name)) {
    return new SaveImageError('ERR_STORE_DENIED', `cannot ${where}: the store refused the credentials (${name}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE`, { cause: error });
  }
  if (name === 'InvalidRange' || status === 416) return new SaveImageError('ERR_TRUNCATED', `cannot ${where}: the range asked for starts past its end`, { cause: error });
  if (status === undefined || status >= 500) {
    const reason = sdk.code ?? (status ? `HTTP ${status}` : name);
    return new SaveImageError('ERR_STORE_UNREACHABLE', `cannot ${where}: the store did not answer (${reason})`, { cause: error });
  }
  return new SaveImageError('ERR_IO', `cannot ${where}: the store answered ${status} ${name}`, { cause: error });
}
