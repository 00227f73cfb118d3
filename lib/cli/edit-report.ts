// How define, edit and set report an in-place edit, in text or JSON.
import { decodePrologue } from '../codec/prologue.js';
import type { PatchResult } from '../file/patch.js';
import { type CliIo, print, printJson } from './io.js';

export async function reportEdit(io: CliIo, json: boolean, path: string, result: PatchResult): Promise<number> {
  const now = decodePrologue(result.after, { allowPartial: true });
  const summary = {
    changed: result.changed,
    changedBytes: result.changedBytes,
    version: now.header.version,
    wasRunning: now.header.wasRunning !== 0,
    xmlLength: now.region.xml.length,
    cookieOffset: now.header.cookieOffset,
    cookieLength: now.region.cookie ? now.region.cookie.length : null,
    blocks: now.region.blocks.length,
    slack: now.region.slack,
    payloadOffset: now.payloadOffset,
  };
  if (json) {
    await printJson(io, summary);
  } else if (!result.changed) {
    await print(io, `${path}: nothing to write: the image already says so\n`);
  } else {
    await print(
      io,
      `${path}: ${summary.changedBytes} bytes of the prologue rewritten in place (version ${summary.version}, ` +
        `${summary.wasRunning ? 'running' : 'paused'} on restore, domain XML ${summary.xmlLength} bytes, ` +
        `${summary.blocks} blocks, ${summary.slack} bytes of slack left; payload at ${summary.payloadOffset} untouched)\n`,
    );
  }
  return 0;
}
