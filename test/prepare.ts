// npm run test:prepare: makes, ahead of time, what the later suites need and a fresh machine takes
// minutes to make: the pinned Node runtimes (test:lts, test:dist), the programs test:dist and
// test:interop run on this machine, and the Debian roots (a bare minbase root per suite, shared by
// test:dist's .deb checks and the interop stages; the stages' roots with libvirt, QEMU and, in
// Debian 13, Ceph for test:objects). .ci/run starts it in the background before npm test, so the
// downloads and unpacking overlap the unit tests. Each thing is made under a lock
// (packaging/cache-lock.ts): a suite that needs it before it is ready waits for it, and a second
// run finds it made. Needs root (chroot, mounts); elsewhere it says so and does nothing.
import { LTS_LINES, nodeBinary } from '../packaging/runtimes.js';
import { ensurePrograms } from './dist/programs.js';
import { ensureDebianRoot, ensureMinbaseRoot } from './interop/debian-root.js';
import { ensureHostPackages } from './interop/host-packages.js';

const log = (line: string) => console.log(`test:prepare: ${line}`);
const began = Date.now();

function step(what: string, make: () => unknown): void {
  const started = Date.now();
  make();
  log(`${what}: ${((Date.now() - started) / 60_000).toFixed(1)} min`);
}

if (process.getuid?.() !== 0) {
  log('not root: nothing made ahead (the suites that need roots run as root)');
} else {
  // Ordered by when a suite first needs each: test:lts right after npm test, then dist, interop, objects.
  step('the pinned Node runtimes', () => {
    for (const line of LTS_LINES) nodeBinary(line);
    nodeBinary(LTS_LINES.at(-1)!, 'arm64');
  });
  step("the programs of test:dist and test:interop (Debian's packages)", () => {
    ensurePrograms();
    ensureHostPackages();
  });
  step('the bare Debian 11 and 13 roots (debootstrap)', () => {
    ensureMinbaseRoot('trixie', log);
    ensureMinbaseRoot('bullseye', log);
  });
  step('the Debian 11 and 13 stage roots (libvirt, QEMU, Ceph)', () => {
    ensureDebianRoot('bullseye', log);
    ensureDebianRoot('trixie', log);
  });
  log(`ready in ${((Date.now() - began) / 60_000).toFixed(1)} min`);
}
