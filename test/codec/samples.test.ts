// Every genuine libvirt image decodes to the values of samples/README.md, and its stored XML
// and cookie are byte-identical to the dumps taken with xxd from the same files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeHeader } from '../../lib/codec/header.js';
import { decodePrologue } from '../../lib/codec/prologue.js';
import { readImageFile } from '../../lib/file/open.js';
import { inspectPrologue } from '../../lib/inspect.js';
import { GENUINE_SAMPLES, readDump, samplePath } from '../helpers/samples.js';

const test = suite('codec/samples');

for (const sample of GENUINE_SAMPLES) {
  test(`${sample.file}: header, layout and blocks`, async () => {
    const image = await readImageFile(samplePath(sample.file));
    const info = inspectPrologue(image, { payloadHead: Buffer.alloc(0), payloadLength: image.payloadLength });
    assert.equal(
      {
        magic: info.magic, complete: info.complete, version: info.version, byteOrder: info.byteOrder, dataLen: info.dataLen,
        wasRunning: info.wasRunning, format: info.format, formatCode: info.formatCode, cookieOffset: info.cookieOffset,
        xmlLength: info.xmlLength, cookieLength: info.cookieLength, slack: info.slack, payloadOffset: info.payloadOffset,
        sealed: info.sealed, domain: info.domain?.name, warnings: info.warnings,
      },
      {
        magic: 'LibvirtQemudSave', complete: true, version: 2, byteOrder: 'le', dataLen: sample.dataLen,
        wasRunning: true, format: sample.format, formatCode: sample.formatCode, cookieOffset: sample.cookieOffset,
        xmlLength: sample.xmlLength, cookieLength: sample.cookieLength, slack: sample.slack, payloadOffset: sample.payloadOffset,
        sealed: false, domain: sample.domain, warnings: [],
      },
    );
    assert.equal(info.unused, new Array(14).fill(0));
    assert.equal(info.blocks.map((b) => b.root), ['domain', 'cookie']);
    assert.ok(image.region.xml.bytes.equals(readDump(sample.dumps, 'embedded-xml.txt')));
    assert.ok(image.region.cookie!.bytes.equals(readDump(sample.dumps, 'embedded-cookie.txt')));
    assert.ok(encodeHeader(image.header).equals(image.prologueBytes.subarray(0, 92)));
  });

  test(`${sample.file}: the pure decoder agrees with the file reader`, async () => {
    const image = await readImageFile(samplePath(sample.file));
    const pure = decodePrologue(image.prologueBytes);
    assert.equal(pure.header, image.header);
    assert.is(pure.region.cookie!.offset, 92 + sample.cookieOffset);
  });
}

test.run();
