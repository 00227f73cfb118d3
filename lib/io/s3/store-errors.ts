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

/** The SaveImageError for what the SDK threw (a SaveImageError passes through as it is); `env` is the one the client was made from. */
export function storeError(error: unknown, address: ObjectAddress, action: string, env: NodeJS.ProcessEnv = {}): SaveImageError {
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
  if (name === 'CredentialsProviderError') {
    return new SaveImageError('ERR_STORE_DENIED', `cannot ${where}: no credentials were found (the store was not asked); savekit looked where the AWS CLI does: ${credentialSources(env)}`, { cause: error });
  }
  if (status === 403 || status === 401 || /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken/.test(name)) {
    return new SaveImageError('ERR_STORE_DENIED', `cannot ${where}: the store refused the credentials (${name}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE`, { cause: error });
  }
  if (name === 'InvalidRange' || status === 416) return new SaveImageError('ERR_TRUNCATED', `cannot ${where}: the range asked for starts past its end`, { cause: error });
  if (status === undefined || status >= 500) {
    const reason = sdk.code ?? (status ? `HTTP ${status}` : name);
    return new SaveImageError('ERR_STORE_UNREACHABLE', `cannot ${where}: the store did not answer (${reason})`, { cause: error });
  }
  return new SaveImageError('ERR_IO', `cannot ${where}: the store answered ${status} ${name}`, { cause: error });
}

/** Where the SDK's default chain looks for credentials, in its order, with this environment's files and profile. */
export function credentialSources(env: NodeJS.ProcessEnv): string {
  const home = env.HOME ?? '~';
  const profile = env.AWS_PROFILE ?? 'default';
  const metadata = env.AWS_EC2_METADATA_DISABLED === 'true' ? 'the EC2 instance metadata service (off: AWS_EC2_METADATA_DISABLED=true)' : 'the EC2 instance metadata service (none answered)';
  return [
    'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (unset)',
    `the profile ${profile} (AWS_PROFILE) in ${env.AWS_SHARED_CREDENTIALS_FILE ?? `${home}/.aws/credentials`} and ${env.AWS_CONFIG_FILE ?? `${home}/.aws/config`}, with its SSO session or credential_process`,
    'a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)',
    "a container's credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI)",
    metadata,
  ].join('; ');
}
