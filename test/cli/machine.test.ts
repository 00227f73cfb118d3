// savekit check against the QEMU of this machine: whether it offers the image's machine type,
// asked of `qemu-system-<arch> -machine help` found on PATH. Fake programs stand in for a QEMU
// that offers it, one that does not, and none at all (the interop suite asks the real ones).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMachineHelp, qemuProgramFor } from '../../lib/jobs/qemu-machines.js';
import { json, runBinary } from '../helpers/cli.js';
import { aarch64PairDir, samplePath, tempDir } from '../helpers/samples.js';

const test = suite('cli/machine');

const HELP = `Supported machines are:
microvm              microvm (i386)
pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)
pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)
q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)
pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)
none                 empty machine
`;

/** A folder holding a fake qemu-system-x86_64 that lists `help`. */
function fakeQemu(help: string): string {
  const dir = join(tempDir(), 'bin');
  mkdirSync(dir);
  const program = join(dir, 'qemu-system-x86_64');
  writeFileSync(program, `#!/bin/sh\nif [ "$1" = --version ]; then echo 'QEMU emulator version 7.2.99 (fake)'; exit 0; fi\ncat <<'EOF'\n${help}EOF\n`);
  chmodSync(program, 0o755);
  return dir;
}

test('-machine help parsed: names and aliases; the program for an arch', () => {
  assert.equal([...parseMachineHelp(HELP)], ['microvm', 'pc', 'pc-i440fx-7.2', 'q35', 'pc-q35-7.2', 'none']);
  assert.is(qemuProgramFor('x86_64'), 'qemu-system-x86_64');
  assert.is(qemuProgramFor('aarch64'), 'qemu-system-aarch64');
  assert.is(qemuProgramFor('i686'), 'qemu-system-i386');
});

test('a QEMU that offers the machine type, one that does not, none at all', () => {
  const offers = fakeQemu(HELP);
  const path = (dir: string) => `${dir}:/usr/bin:/bin`;
  // libvirt 9.0's samples name pc-i440fx-7.2, libvirt 11.3's pc-i440fx-10.0.
  let result = runBinary(['check', '--json', samplePath('libvirt-9.0/raw.save')], undefined, { PATH: path(offers) });
  assert.is(result.status, 0, result.stderr);
  assert.equal((json(result) as { machine: unknown }).machine, { machine: 'pc-i440fx-7.2', arch: 'x86_64', program: 'qemu-system-x86_64', qemu: 'QEMU emulator version 7.2.99 (fake)', offered: true });
  result = runBinary(['check', samplePath('libvirt-11.3/zstd.save')], undefined, { PATH: path(offers) });
  assert.is(result.status, 0, 'the image is fine: a warning, not a failure');
  assert.match(result.stdout.toString(), 'warning: the machine type pc-i440fx-10.0 is not offered by this machine\'s qemu-system-x86_64');
  const report = json(runBinary(['check', '--json', samplePath('libvirt-11.3/zstd.save')], undefined, { PATH: path(offers) })) as { machine: { offered: boolean }; warnings: string[] };
  assert.is(report.machine.offered, false);
  assert.is(report.warnings.length, 1);
  const none = join(tempDir(), 'empty');
  mkdirSync(none);
  const without = json(runBinary(['check', '--json', samplePath('libvirt-9.0/raw.save')], undefined, { PATH: `${none}:/nonexistent` })) as { machine: { offered: null; qemu: null } };
  assert.is(without.machine.offered, null);
  assert.is(without.machine.qemu, null);
});

test('--qemu asks the QEMU given (another install, a wrapper); the aarch64 samples ask qemu-system-aarch64', () => {
  const offers = join(fakeQemu(HELP), 'qemu-system-x86_64');
  const result = runBinary(['check', '--json', '--qemu', offers, samplePath('libvirt-7.0/raw.save')], undefined, { PATH: '/usr/bin:/bin' }); // a real QEMU there would offer pc-i440fx-5.2
  assert.is(result.status, 0, result.stderr);
  const report = json(result) as { machine: { machine: string; program: string; offered: boolean }; warnings: string[] };
  assert.equal([report.machine.machine, report.machine.program, report.machine.offered], ['pc-i440fx-5.2', offers, false]);
  assert.match(report.warnings[0]!, `is not offered by ${offers} (QEMU emulator version 7.2.99 (fake))`);
  const dir = join(tempDir(), 'arm');
  mkdirSync(dir);
  writeFileSync(join(dir, 'qemu-system-aarch64'), `#!/bin/sh\ncat <<'EOF'\nSupported machines are:\nvirt-7.2             QEMU 7.2 ARM Virtual Machine\nEOF\n`);
  chmodSync(join(dir, 'qemu-system-aarch64'), 0o755);
  const arm = json(runBinary(['check', '--json', join(aarch64PairDir('libvirt-9.0'), 'tiny.save')], undefined, { PATH: `${dir}:/usr/bin:/bin` })) as { machine: { machine: string; arch: string; offered: boolean } };
  assert.equal([arm.machine.machine, arm.machine.arch, arm.machine.offered], ['virt-7.2', 'aarch64', true]);
});

test.run();
