// s3:// addresses, upload part sizes and how store answers become error codes: what the
// object-store suite (npm run test:objects, a real Ceph) relies on, checked without a store.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { isObjectAddress, objectAddressOf } from '../../../lib/io/s3/address.js';
import { MAX_PART_BYTES, MAX_PARTS, MIN_PART_BYTES, partBytesFor } from '../../../lib/io/s3/transfer-plan.js';
import { ABORT_ATTEMPTS, backoffMs, isTransient, READ_ATTEMPTS } from '../../../lib/io/s3/retry.js';
import { ObjectStore, storeError } from '../../../lib/io/s3/s3-client.js';
import { credentialSources } from '../../../lib/io/s3/store-errors.js';
import { SaveImageError } from '../../../lib/errors.js';
import { codeOf } from '../../helpers/assert-code.js';
import { runInProcess, SAVEKIT_BIN } from '../../helpers/cli.js';
import { samplePath, tempDir } from '../../helpers/samples.js';

const test = suite('store');
const GIB = 1024 ** 3;
const TIB = 1024 ** 4;

test('s3://BUCKET/KEY: bucket and key; paths and - are not addresses; malformed ones are ERR_USAGE', () => {
  assert.equal(objectAddressOf('s3://saves/host1/mon.save'), { bucket: 'saves', key: 'host1/mon.save', url: 's3://saves/host1/mon.save' });
  assert.is(objectAddressOf('/var/lib/libvirt/qemu/save/vm.save'), null);
  assert.is(objectAddressOf('-'), null);
  assert.ok(isObjectAddress('s3://x'));
  for (const bad of ['s3://', 's3://saves', 's3://saves/', 's3://Saves/k', 's3://a/k', 's3://under_score/k']) assert.is(codeOf(() => objectAddressOf(bad)), 'ERR_USAGE', bad);
});

test('the retry rule: no answer or a broken body is tried again, a store\'s answer is not; 0.25 s doubling, about 32 s for a read', () => {
  assert.ok(isTransient(new Error('socket hang up')));
  assert.ok(isTransient(new SaveImageError('ERR_STORE_UNREACHABLE', 'no answer')));
  for (const code of ['ERR_IMAGE_CHANGED', 'ERR_STORE_DENIED', 'ERR_OBJECT_NOT_FOUND'] as const) assert.not.ok(isTransient(new SaveImageError(code, code)), code);
  assert.equal([2, 3, 4].map(backoffMs), [250, 500, 1000]);
  const waited = (attempts: number) => Array.from({ length: attempts - 1 }, (_, i) => backoffMs(i + 2)).reduce((a, b) => a + b, 0);
  assert.is(waited(READ_ATTEMPTS), 31_750);
  assert.ok(waited(ABORT_ATTEMPTS) >= 15_000);
});

test('part sizes: any size up to 5 TiB fits in 10,000 parts of 5 MiB to 5 GiB; a known size, up to 48.8 TiB', () => {
  const fits = (bytes: number, expected: number | null) => {
    let covered = 0;
    for (let part = 1; part <= MAX_PARTS; part++) {
      const size = partBytesFor(part, expected);
      assert.ok(size >= MIN_PART_BYTES && size <= MAX_PART_BYTES, `part ${part}: ${size}`);
      covered += size;
      if (covered >= bytes) return true;
    }
    return false;
  };
  for (const bytes of [1, 4 * GIB, 78 * GIB, TIB, 5 * TIB]) assert.ok(fits(bytes, null), `${bytes} unknown`);
  for (const bytes of [4 * GIB, 100 * GIB, 5 * TIB, 48.8 * TIB]) assert.ok(fits(bytes, bytes), `${bytes} known`);
  assert.is(partBytesFor(1, 4 * GIB), MIN_PART_BYTES, 'a 4 GiB image takes 8 MiB parts: memory is parts in flight x 8 MiB');
  assert.is(partBytesFor(1000, null), MIN_PART_BYTES);
  assert.is(partBytesFor(1001, null), 2 * MIN_PART_BYTES);
});

test("store answers become stable codes, naming the address and never a request's signature", () => {
  const address = { bucket: 'saves', key: 'vm.save', url: 's3://saves/vm.save' };
  const answer = (name: string, status?: number) => Object.assign(new Error('UnknownError'), { name, Code: name, $metadata: { httpStatusCode: status } });
  const cases: [unknown, string][] = [
    [answer('PreconditionFailed', 412), 'ERR_IMAGE_CHANGED'],
    [answer('NoSuchKey', 404), 'ERR_OBJECT_NOT_FOUND'],
    [answer('NotFound', 404), 'ERR_OBJECT_NOT_FOUND'],
    [answer('NoSuchBucket', 404), 'ERR_OBJECT_NOT_FOUND'],
    [answer('AccessDenied', 403), 'ERR_STORE_DENIED'],
    [answer('SignatureDoesNotMatch', 403), 'ERR_STORE_DENIED'],
    [answer('CredentialsProviderError'), 'ERR_STORE_DENIED'], // none found: the message says where savekit looked
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7480'), { code: 'ECONNREFUSED' }), 'ERR_STORE_UNREACHABLE'],
    [answer('ServiceUnavailable', 503), 'ERR_STORE_UNREACHABLE'],
    [answer('InvalidRange', 416), 'ERR_TRUNCATED'],
    [answer('EntityTooSmall', 400), 'ERR_IO'],
  ];
  for (const [error, code] of cases) {
    const mapped = storeError(error, address, 'read');
    assert.is(mapped.code, code, String((error as Error).name));
    assert.ok(mapped.message.includes('s3://saves/vm.save'), mapped.message);
  }
});

test('with no credentials anywhere, info s3:// says none were found and where it looked (the store never asked), in well under a second', () => {
  const home = tempDir();
  const started = Date.now();
  const result = spawnSync(process.execPath, [SAVEKIT_BIN, 'info', 's3://saves/vm.save'], {
    // Nothing of the machine's own: a bare PATH, an empty HOME, no AWS_* but a closed endpoint, and no metadata service.
    env: { PATH: process.env.PATH, HOME: home, TMPDIR: process.env.TMPDIR, AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
    encoding: 'utf8',
  });
  assert.is(result.status, 1, result.stderr);
  assert.match(result.stderr, /^error\[ERR_STORE_DENIED\]: cannot read s3:\/\/saves\/vm.save: no credentials were found \(the store was not asked\)/);
  for (const place of ['AWS_ACCESS_KEY_ID', `the profile default (AWS_PROFILE) in ${home}/.aws/credentials and ${home}/.aws/config`, 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'off: AWS_EC2_METADATA_DISABLED=true']) {
    assert.ok(result.stderr.includes(place), `${place} is not named: ${result.stderr}`);
  }
  assert.ok(Date.now() - started < 10_000);
  const named = credentialSources({ HOME: '/h', AWS_PROFILE: 'lab', AWS_SHARED_CREDENTIALS_FILE: '/etc/creds' });
  assert.ok(named.includes('the profile lab (AWS_PROFILE) in /etc/creds and /h/.aws/config'), named);
  assert.ok(named.includes('the EC2 instance metadata service (none answered)'), named);
});

test('recover of an object: ERR_USAGE (an object is replaced whole or not at all), the SDK not even loaded', async () => {
  const result = await runInProcess(['recover', 's3://saves/vm.save']);
  assert.is(result.status, 2);
  assert.match(result.stderr, /error\[ERR_USAGE\]: s3:\/\/saves\/vm.save is an object/);
});

test('local commands never load the AWS SDK; an s3:// client does (the probe sees it)', async () => {
  const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/@aws-sdk/'));
  assert.is((await runInProcess(['info', samplePath('libvirt-9.0/raw.save')])).status, 0);
  assert.is((await runInProcess(['hash', '--quiet', samplePath('libvirt-9.0/raw.save')])).status, 0);
  assert.not.ok(loaded(), 'a local command loaded the SDK');
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'; // as the CLI sets it (main.ts)
  const store = await ObjectStore.connect({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
  store.close();
  assert.ok(loaded(), 'the probe does not see the SDK once loaded');
});

test.run();
