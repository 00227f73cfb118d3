// The crash matrix: an edit stopped after each write and each sync (as a crash would stop
// it), then `recover`: the image is byte-identical to its old or its new version and reads.
// Before recovery, libvirt's view holds too: a Save magic only ever sits on a whole prologue.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { planDefine, planSet } from '../../lib/edit/plan.js';
import { readImageFile } from '../../lib/file/open.js';
import { patchImage, type PrologueEdit, recoverImage } from '../../lib/file/patch.js';
import { journalPathOf, lockPathOf } from '../../lib/file/side-files.js';
import { rejectsWithCode } from '../helpers/assert-code.js';
import { faultyFiles, SimulatedCrash } from '../helpers/files.js';
import { copySample } from '../helpers/samples.js';

const test = suite('file/crash');

interface Scenario {
  name: string;
  sample: string;
  edit: PrologueEdit;
  /** Applied first, to reach the starting state (e.g. a version 3 image). */
  setup?: PrologueEdit;
}

const longer: PrologueEdit = (image) => planDefine(image, Buffer.from(image.region.xml.text.replace('</description>', ' and more</description>')));
const SCENARIOS: Scenario[] = [
  { name: 'define (longer XML)', sample: 'libvirt-9.0/raw.save', edit: longer },
  { name: 'define on the KVM image', sample: 'libvirt-11.3/kvm-raw.save', edit: longer },
  { name: 'set --paused', sample: 'libvirt-9.0/raw.save', edit: (image) => planSet(image, { wasRunning: 0 }) },
  { name: 'set --version 3', sample: 'libvirt-9.0/kvm-raw.save', edit: (image) => planSet(image, { version: 3 }) },
  { name: 'set --version 2 (from 3)', sample: 'libvirt-11.3/zstd.save', setup: (image) => planSet(image, { version: 3 }), edit: (image) => planSet(image, { version: 2 }) },
];

async function startingImage(scenario: Scenario): Promise<{ path: string; old: Buffer; expected: Buffer }> {
  const path = copySample(scenario.sample);
  if (scenario.setup) await patchImage(path, scenario.setup);
  const old = readFileSync(path);
  const probe = copySample(scenario.sample);
  if (scenario.setup) await patchImage(probe, scenario.setup);
  await patchImage(probe, scenario.edit);
  return { path, old, expected: readFileSync(probe) };
}

/** What libvirt would see: either Part magic, or a whole old or new prologue. */
function libvirtSafe(bytes: Buffer, old: Buffer, expected: Buffer): boolean {
  if (bytes.toString('latin1', 0, 16) === 'LibvirtQemudPart') return true;
  return bytes.equals(old) || bytes.equals(expected);
}

for (const scenario of SCENARIOS) {
  test(`${scenario.name}: crash after every step, then recover`, async () => {
    let steps = 0;
    const outcomes = new Set<string>();
    for (let crashAfter = 0; ; crashAfter++) {
      const { path, old, expected } = await startingImage(scenario);
      assert.not.ok(old.equals(expected), 'the edit changes something');
      const faulty = faultyFiles({ crashAfter });
      let crashed = false;
      try {
        await patchImage(path, scenario.edit, { files: faulty.files });
      } catch (error) {
        crashed = error instanceof SimulatedCrash || (error as { cause?: unknown }).cause instanceof SimulatedCrash;
        assert.ok(crashed, String(error));
      }
      const onDisk = readFileSync(path);
      assert.ok(libvirtSafe(onDisk, old, expected), `step ${crashAfter}: libvirt would see a torn image`);
      if (existsSync(journalPathOf(path))) await rejectsWithCode(() => readImageFile(path), 'ERR_RECOVERY_NEEDED');
      const action = await recoverImage(path);
      outcomes.add(action);
      const recovered = readFileSync(path);
      assert.ok(recovered.equals(old) || recovered.equals(expected), `step ${crashAfter}: ${action} gave neither version`);
      assert.not.ok(existsSync(journalPathOf(path)));
      assert.not.ok(existsSync(lockPathOf(path)));
      assert.ok(await readImageFile(path));
      if (!crashed) {
        steps = faulty.steps();
        assert.ok(recovered.equals(expected));
        break;
      }
    }
    assert.ok(steps >= 9, `only ${steps} durable steps`);
    assert.ok(outcomes.has('rolled-back') && outcomes.has('rolled-forward') && outcomes.has('discarded-journal'), [...outcomes].join());
  });
}

for (const scenario of SCENARIOS) {
  for (const errno of ['EIO', 'ENOSPC']) {
    test(`${scenario.name} under ${errno} at every step: a clear error, and an image that is unchanged or recoverable`, async () => {
      for (let failAt = 0; ; failAt++) {
        const { path, old, expected } = await startingImage(scenario);
        const faulty = faultyFiles({ crashAfter: failAt, errno, once: true });
        try {
          await patchImage(path, scenario.edit, { files: faulty.files });
        } catch (error) {
          assert.is((error as { code?: string }).code, 'ERR_IO');
          assert.match((error as Error).message, errno);
          const now = readFileSync(path);
          assert.ok(libvirtSafe(now, old, expected), `fail at ${failAt}: libvirt would see a torn image`);
          await recoverImage(path);
          const after = readFileSync(path);
          assert.ok(after.equals(old) || after.equals(expected), `fail at ${failAt}`);
          continue;
        }
        assert.ok(readFileSync(path).equals(expected));
        break;
      }
    });
  }
}

test('a seal written under ENOSPC at every step leaves the image unsealed or sealed, never torn', async () => {
  const seal = { payloadLength: 1, digest: '0123456789abcdef' };
  const { withSeal } = await import('../../lib/codec/seal.js');
  const { encodeHeaderInto } = await import('../../lib/codec/header.js');
  const sealing: PrologueEdit = (image) => {
    const prologue = Buffer.from(image.prologueBytes);
    encodeHeaderInto(withSeal(image.header, seal), prologue, 0);
    return prologue;
  };
  for (let failAt = 0; failAt < 12; failAt++) {
    const path = copySample('libvirt-9.0/raw.save');
    const old = readFileSync(path);
    try {
      await patchImage(path, sealing, { files: faultyFiles({ crashAfter: failAt, errno: 'ENOSPC', once: true }).files });
    } catch (error) {
      assert.is((error as { code?: string }).code, 'ERR_IO');
    }
    await recoverImage(path);
    const after = readFileSync(path);
    assert.ok(after.equals(old) || after.readUInt32LE(36 + 36) === 0x4c414553, `fail at ${failAt}`);
    assert.ok(after.subarray(92).equals(old.subarray(92)));
  }
});

test('short writes still produce the new image', async () => {
  const { path, expected } = await startingImage(SCENARIOS[0]!);
  await patchImage(path, SCENARIOS[0]!.edit, { files: faultyFiles({ crashAfter: Infinity, shortWrites: true }).files });
  assert.ok(readFileSync(path).equals(expected));
});

test('recover with nothing to do says so and changes nothing', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  const before = readFileSync(path);
  assert.is(await recoverImage(path), 'none');
  assert.ok(readFileSync(path).equals(before));
});

test.run();
