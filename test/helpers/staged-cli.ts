// A copy of the built CLI that any user can run: the checkout may sit in a folder other users
// cannot enter (a clone under /root, or mktemp's 0700), so tests that run savekit as `nobody`
// run this copy instead. It holds package.json, dist/, the prebuilt addon and the runtime
// dependencies (the closure of `dependencies`, as npm would install them), nothing else.
import { chmodSync, cpSync, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The folders of the runtime dependencies of the package at `root`, transitively. */
function runtimeDependencies(root: string, found = new Map<string, string>()): Map<string, string> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const resolveFrom = createRequire(join(root, 'package.json'));
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (found.has(name)) continue;
    // Look the folder up as Node would (package.json may be hidden by a package's `exports`).
    const folder = (resolveFrom.resolve.paths(name) ?? []).map((dir) => join(dir, name)).find((dir) => existsSync(join(dir, 'package.json')));
    if (folder === undefined) throw new Error(`${name} is not installed: run npm install`);
    found.set(name, folder);
    runtimeDependencies(folder, found);
  }
  return found;
}

/** Copies the runnable package into `folder` (which must be readable by all); returns its bin. */
export function stageCli(folder: string): string {
  for (const entry of ['package.json', 'dist', 'prebuilds', 'build/Release/savekit_native.node']) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(folder, entry), { recursive: true });
  }
  for (const [name, source] of runtimeDependencies(ROOT)) cpSync(source, join(folder, 'node_modules', name), { recursive: true });
  chmodSync(folder, 0o755);
  return join(folder, 'dist', 'cli', 'main.js');
}
