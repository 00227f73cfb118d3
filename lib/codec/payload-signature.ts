// Whether the payload starts the way its header's format says (FORMAT.md section 2). libvirt
// never checks: a gzip flag over a raw payload makes `virsh restore` hang. Pure.
import { FORMAT_SIGNATURES } from '../constants.js';
import { formatName } from './header.js';

/**
 * A sentence describing the mismatch, or null when the head matches, the format is unknown,
 * or too few bytes are at hand to tell.
 */
export function describePayloadMismatch(formatCode: number, head: Buffer): string | null {
  const name = formatName(formatCode);
  if (name === null) return null;
  const signature = FORMAT_SIGNATURES[name];
  if (head.length < signature.length) return null;
  if (head.subarray(0, signature.length).equals(signature)) return null;
  return `the payload does not start as ${name} data should (expected ${signature.toString('hex')}, found ${head.subarray(0, signature.length).toString('hex')})`;
}
