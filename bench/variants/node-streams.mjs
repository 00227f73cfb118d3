// The Node-stream ways to do what `savekit rewrite` does, for bench/pipe.bench.ts:
//   node-streams.mjs passthrough         stdin -> PassThrough -> stdout (no rewrite at all)
//   node-streams.mjs pipeline XMLFILE    stdin -> createRewriteStream -> stdout, pipeline()
//   node-streams.mjs chain XMLFILE       the same stage composed with stream-chain
// Plain JavaScript over dist/, so no TypeScript loader skews start-up time.
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import chain from 'stream-chain';
import { planRewrite } from '../../dist/edit/plan.js';
import { createRewriteStream } from '../../dist/stream/rewrite.js';

const [mode, xmlFile] = process.argv.slice(2);
const highWaterMark = 1024 * 1024;
const rewrite = () => {
  const xml = readFileSync(xmlFile);
  return createRewriteStream({ plan: (image) => planRewrite(image, { xml, force: true }), highWaterMark });
};

if (mode === 'passthrough') await pipeline(process.stdin, new PassThrough({ highWaterMark }), process.stdout);
else if (mode === 'pipeline') await pipeline(process.stdin, rewrite(), process.stdout);
else if (mode === 'chain') await pipeline(process.stdin, chain([rewrite()], { writableObjectMode: false, readableObjectMode: false, highWaterMark }), process.stdout);
else throw new Error(`unknown mode ${mode}`);
