// Running as one executable (Node's single executable applications, packaging/build-exe.ts):
// there is no package tree on disk, so what savekit would load from one (the native addon, the
// hashing thread's code) comes from the executable's assets. Outside it, every call says so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type SeaModule = typeof import('node:sea');

let sea: SeaModule | null | undefined;

function seaModule(): SeaModule | null {
  if (sea === undefined) {
    // Asked for at run time, not imported: nothing outside an executable needs node:sea.
    const module = process.getBuiltinModule('node:sea') as SeaModule | undefined;
    sea = module?.isSea() ? module : null;
  }
  return sea;
}

/** True inside the one-file executable. */
export function inExecutable(): boolean {
  return seaModule() !== null;
}

/** An asset's bytes inside the executable (null if it has none of that name); undefined outside it. */
export function executableAsset(name: string): ArrayBuffer | null | undefined {
  const module = seaModule();
  if (module === null) return undefined;
  try {
    return module.getRawAsset(name) as ArrayBuffer;
  } catch {
    return null; // built without it: the caller falls back
  }
}

/**
 * Loads a native addon from bytes: dlopen needs a file, so the bytes go to a private folder in
 * $TMPDIR that is removed at once (the mapping outlives the name). A folder mounted noexec
 * refuses the mapping; the caller then falls back as it does without an addon.
 */
export function loadAddonFromBytes(bytes: ArrayBuffer): unknown {
  const folder = mkdtempSync(join(tmpdir(), 'savekit-addon-'));
  try {
    const file = join(folder, 'savekit_native.node');
    writeFileSync(file, new Uint8Array(bytes), { mode: 0o700 });
    const module = { exports: {} as unknown };
    process.dlopen(module, file);
    return module.exports;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
