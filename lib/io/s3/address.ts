// s3://BUCKET/KEY addresses: wherever a command takes an image, a delta or a signature. Parsing
// them needs no S3 client, so local commands never load one.
import { SaveImageError } from '../../errors.js';

export interface ObjectAddress {
  bucket: string;
  key: string;
  /** The address as given, for messages. */
  url: string;
}

const SCHEME = 's3://';

/** True for an argument that names an object (s3://...), whether or not it is well formed. */
export function isObjectAddress(argument: string): boolean {
  return argument.startsWith(SCHEME);
}

/** The bucket and key of `s3://BUCKET/KEY`; null for a path or `-`; ERR_USAGE for a malformed address. */
export function objectAddressOf(argument: string): ObjectAddress | null {
  if (!isObjectAddress(argument)) return null;
  const rest = argument.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || key === '') {
    throw new SaveImageError('ERR_USAGE', `${argument} is not an object address: give s3://BUCKET/KEY (a bucket of 3 to 63 lower-case letters, digits, dots and hyphens, then a key)`);
  }
  return { bucket, key, url: argument };
}
