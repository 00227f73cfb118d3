// The ceiling of any Node.js program that looks at every byte of a file, for
// bench/walk.bench.ts: start Node, then readSync the file into one 1 MiB buffer until its end.
// No parsing at all; savekit walk cannot beat this.
import { openSync, readSync } from 'node:fs';

const fd = openSync(process.argv[2], 'r');
const buffer = Buffer.allocUnsafeSlow(1024 * 1024);
while (readSync(fd, buffer, 0, buffer.length, null) > 0);
