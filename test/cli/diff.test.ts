// savekit diff: what changed between two images, checked against pairs whose every change is
// known: pages rewritten, zero pages become data and back, a block added, device state and XML
// changed; the genuine samples (the timer among the devices that changed); --map and --help.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { json, runInProcess } from '../helpers/cli.js';
import { samplePath, tempDir } from '../helpers/samples.js';
import { SYNTHETIC_XML, writeSyntheticImage } from '../helpers/synthetic-image.js';

const test = suite('cli/diff');

const MIB = 1024 * 1024;
const BLOCKS = [
  { name: 'pc.ram', bytes: 4 * MIB },
  { name: 'pc.rom', bytes: 128 * 1024 },
];

interface Report {
  identical: boolean;
  header: Array<{ field: string }>;
  xml: { changed: boolean; diff: string };
  devices: { same: string[]; changed: Array<{ name: string; fields: Array<{ field: string; a: string; b: string }> | null }>; added: unknown[]; removed: unknown[] };
  ram: Array<{ name: string; pages: number; equal: number; changed: number; zeroToData: number; dataToZero: number; unpaired: number; ranges: Array<{ offset: number; pages: number }> }>;
  removedBlocks: Array<{ name: string }>;
}

test('a synthetic pair whose changes are known, counted page by page', async () => {
  const dir = tempDir();
  const a = join(dir, 'a.save');
  const b = join(dir, 'b.save');
  // zeroPageEvery 4: pages 3, 7, 11... are zero. In B: pages 0-9 rewritten (data -> new data, 3
  // and 7 zero -> data), pages 100 and 101 become zero (data -> zero), an extra block, the
  // devices' bytes and the XML changed.
  writeSyntheticImage(a, { ramBytes: 0, blocks: BLOCKS });
  writeSyntheticImage(b, {
    ramBytes: 0,
    blocks: [BLOCKS[0]!, { name: 'extra', bytes: 64 * 1024 }, BLOCKS[1]!],
    rewritten: (block, page) => (block !== 'pc.ram' ? null : page < 10 ? 'data' : page === 100 || page === 101 ? 'zero' : null),
    deviceFill: 1,
    xml: SYNTHETIC_XML.replace('<vcpu', '<description>changed</description>\n  <vcpu'),
  });
  const report = json(await runInProcess(['diff', '--json', a, b])) as unknown as Report;
  assert.is(report.identical, false);
  assert.is(report.xml.changed, true);
  assert.match(report.xml.diff, '+  <description>changed</description>');
  assert.ok(report.header.some((change) => change.field === 'cookieOffset'), 'the longer XML moved the cookie');
  const ram = report.ram.find((block) => block.name === 'pc.ram')!;
  assert.equal({ pages: ram.pages, changed: ram.changed, zeroToData: ram.zeroToData, dataToZero: ram.dataToZero, unpaired: ram.unpaired }, { pages: 1024, changed: 8, zeroToData: 2, dataToZero: 2, unpaired: 0 });
  assert.is(ram.equal, 1024 - 12);
  assert.equal(ram.ranges, [
    { offset: 0, pages: 10 },
    { offset: 100 * 4096, pages: 2 },
  ]);
  const extra = report.ram.find((block) => block.name === 'extra')!;
  assert.is(extra.unpaired, 16);
  assert.equal(report.devices.changed.map((device) => device.name), ['timer', 'apic']);
  assert.ok(report.devices.changed.every((device) => device.fields !== null && device.fields.length > 0));
  assert.equal(report.devices.changed[0]!.fields![0], { field: 'field0', a: '0101010101010101', b: '0202020202020202' });
  // The same image against itself.
  const same = json(await runInProcess(['diff', '--json', a, a])) as unknown as Report;
  assert.is(same.identical, true);
  assert.is(same.ram[0]!.equal, 1024);
  // And the other way round: the extra block is only in A.
  const back = json(await runInProcess(['diff', '--json', b, a])) as unknown as Report;
  assert.equal(back.removedBlocks.map((block) => block.name), ['extra']);
});

test('genuine saves of one guest: the timer changed; a sparse image against its raw stream is the same RAM', async () => {
  const report = json(await runInProcess(['diff', '--json', samplePath('libvirt-9.0/raw.save'), samplePath('libvirt-9.0/xz.save')])) as unknown as Report;
  assert.ok(report.devices.changed.some((device) => device.name === 'timer'), JSON.stringify(report.devices.changed.map((d) => d.name)));
  assert.equal(report.header.map((change) => change.field), ['format']);
  const dir = tempDir();
  const raw = join(dir, 'raw.save');
  assert.is((await runInProcess(['convert', '--quiet', '--format', 'raw', samplePath('libvirt-11.3/sparse.save'), raw])).status, 0);
  const versus = json(await runInProcess(['diff', '--json', samplePath('libvirt-11.3/sparse.save'), raw])) as unknown as Report;
  assert.ok(versus.ram.every((block) => block.equal === block.pages), JSON.stringify(versus.ram.map(({ ranges, ...rest }) => rest)));
  assert.equal(versus.devices.changed, []);
});

test('--map draws each block; --help; usage', async () => {
  const text = (await runInProcess(['diff', '--map', samplePath('libvirt-9.0/raw.save'), samplePath('libvirt-9.0/xz.save')])).stdout.toString();
  assert.match(text, /pc\.ram\s+4096 pages: \d+ equal/);
  assert.match(text, /0000000000 \|[.:+#]{64}\|/);
  assert.is((await runInProcess(['diff', '--help'])).status, 0);
  assert.is((await runInProcess(['diff', samplePath('libvirt-9.0/raw.save')])).status, 2);
  assert.is((await runInProcess(['diff', '-', '-'])).status, 2);
});

test.run();
