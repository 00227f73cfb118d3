// Writes the regression corpus: small crafted bad images, each with the code `savekit check`
// must answer, listed in manifest.json. Rerun (node --import tsx test/corpus/make.ts) after
// adding a case; commit the files. Cases found by the fuzzer or a review belong here.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { withSeal } from '../../lib/codec/seal.js';
import { decodePrologue } from '../../lib/codec/prologue.js';
import { encodeHeaderInto } from '../../lib/codec/header.js';
import { syntheticImageBuffer } from '../helpers/synthetic-image.js';

const folder = fileURLToPath(new URL('.', import.meta.url));
const base = syntheticImageBuffer({ ramBytes: 4096, slack: 16 });
const { payloadOffset, header } = decodePrologue(base);
const edit = (change: (b: Buffer) => Buffer | void): Buffer => {
  const copy = Buffer.from(base);
  return change(copy) ?? copy;
};

const CASES: Array<[string, string, Buffer]> = [
  ['cookie-offset-past-data-len', 'ERR_BAD_COOKIE_OFFSET', edit((b) => void b.writeUInt32LE(header.dataLen + 1, 32))],
  ['data-len-zero', 'ERR_BAD_DATA_LENGTH', edit((b) => void b.writeUInt32LE(0, 20))],
  ['version-7', 'ERR_UNSUPPORTED_VERSION', edit((b) => void b.writeUInt32LE(7, 16))],
  ['part-magic', 'ERR_PARTIAL_IMAGE', edit((b) => void b.write('LibvirtQemudPart', 0, 'latin1'))],
  ['bad-magic', 'ERR_BAD_MAGIC', edit((b) => void b.write('libvirtQemudSave', 0, 'latin1'))],
  ['xml-unterminated', 'ERR_XML_UNTERMINATED', edit((b) => void b.fill(0x20, 92, payloadOffset))],
  ['cut-in-header', 'ERR_TRUNCATED', base.subarray(0, 50)],
  ['cut-in-region', 'ERR_TRUNCATED', base.subarray(0, 300)],
  ['cut-in-ram', 'ERR_TRUNCATED', base.subarray(0, payloadOffset + 2000)],
  ['gzip-flag-over-raw', 'ERR_PAYLOAD_MISMATCH', edit((b) => void b.writeUInt32LE(1, 28))],
  ['unknown-format', 'ERR_UNSUPPORTED_FORMAT', edit((b) => void b.writeUInt32LE(9, 28))],
  // The first record of the first PART section (02, be32 id 2) gets PAGE and ZERO at once.
  ['ram-record-two-types', 'ERR_BAD_STREAM', edit((b) => void b.writeUInt32BE(0x0000000a, b.indexOf(Buffer.from([2, 0, 0, 0, 2]), payloadOffset) + 5 + 4))],
  ['entity-bomb-in-xml', 'ERR_BAD_XML', edit((b) => void b.write('<!DOCTYPE d [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><domain>&b;</domain>\n'.padEnd(60, ' '), 92, 'utf8'))],
  ['seal-mismatch', 'ERR_SEAL_MISMATCH', edit((b) => encodeHeaderInto(withSeal(header, { payloadLength: b.length - payloadOffset, digest: '0123456789abcdef' }), b, 0))],
];

const manifest = CASES.map(([name, code, bytes]) => {
  writeFileSync(join(folder, `${name}.save`), bytes);
  return { file: `${name}.save`, code };
});
writeFileSync(join(folder, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`${manifest.length} cases written to ${folder}`);
