// File to file the other way: a kernel copy (copyFile, as cp does) of the whole image, then the
// new prologue written in place over the copy's (same size only). For bench/pipe.bench.ts.
import { copyFileSync, readFileSync } from 'node:fs';
import { planDefine } from '../../dist/edit/plan.js';
import { patchImage } from '../../dist/file/patch.js';

const [input, output, xmlFile] = process.argv.slice(2);
copyFileSync(input, output);
const xml = readFileSync(xmlFile);
await patchImage(output, (image) => planDefine(image, xml, { force: true }));
