// Bundles the built CLI (dist/) into the two scripts a one-file executable carries: the CLI as
// one ES module, and the hashing thread as one CommonJS script (a worker inside the executable
// runs code it is given, not a file). Everything is inlined but Node's built-in modules.
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface BundledPackage {
  name: string;
  version: string;
  license: string;
}

export interface Bundle {
  cli: string;
  hashWorker: string;
  readWorker: string;
  transferWorker: string;
  /** The npm packages inlined into any of the scripts (for the Debian copyright file). */
  packages: BundledPackage[];
}

// savekit loads a few packages on first use with createRequire(import.meta.url)(NAME), which
// esbuild cannot follow and which has no file to resolve against inside an executable. Written
// as require(NAME), they are bundled and still evaluated on first use.
const LAZY_REQUIRE = /createRequire\(import\.meta\.url\)\(('[^']+')\)/g;
const bundleLazyRequires: Plugin = {
  name: 'savekit-lazy-requires',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replace(LAZY_REQUIRE, 'require($1)'),
      loader: 'js',
    }));
  },
};

// The bundled CommonJS packages require Node's built-ins; an ES module has no `require` of its
// own, and inside an executable import.meta.url is not a file, so it is made from the binary.
const ESM_REQUIRE = "import { createRequire as savekitCreateRequire } from 'node:module'; const require = savekitCreateRequire(process.execPath);";

/** Bundles dist/cli/main.js and the threads' scripts, dist/io/hash-worker.js, dist/io/read-worker.js and dist/io/s3/transfer-worker.js (run `npm run build` first). */
export async function bundleCli(): Promise<Bundle> {
  const common: BuildOptions = { bundle: true, platform: 'node', target: 'node22', write: false, metafile: true, legalComments: 'none', logLevel: 'error', plugins: [bundleLazyRequires] };
  const [cli, hashWorker, readWorker, transferWorker] = await Promise.all([
    build({ ...common, entryPoints: [`${ROOT}dist/cli/main.js`], format: 'esm', banner: { js: ESM_REQUIRE } }),
    build({ ...common, entryPoints: [`${ROOT}dist/io/hash-worker.js`], format: 'cjs' }),
    build({ ...common, entryPoints: [`${ROOT}dist/io/read-worker.js`], format: 'cjs' }),
    build({ ...common, entryPoints: [`${ROOT}dist/io/s3/transfer-worker.js`], format: 'cjs' }),
  ]);
  const bundle = {
    cli: cli.outputFiles![0]!.text,
    hashWorker: hashWorker.outputFiles![0]!.text,
    readWorker: readWorker.outputFiles![0]!.text,
    transferWorker: transferWorker.outputFiles![0]!.text,
    packages: packagesIn(cli.metafile!, hashWorker.metafile!, readWorker.metafile!, transferWorker.metafile!),
  };
  for (const [name, text] of Object.entries({ cli: bundle.cli, hashWorker: bundle.hashWorker, readWorker: bundle.readWorker, transferWorker: bundle.transferWorker })) {
    // Paths of the build machine must not be reached at run time: what would resolve against them is gone.
    if (text.includes(ROOT)) throw new Error(`the ${name} bundle names the build tree (${ROOT})`);
  }
  return bundle;
}

function packagesIn(...metafiles: Metafile[]): BundledPackage[] {
  const names = new Set<string>();
  for (const metafile of metafiles) {
    for (const input of Object.keys(metafile.inputs)) {
      const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (match) names.add(match[1]!);
    }
  }
  return [...names].sort().map((name) => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string; license?: string };
    return { name, version: manifest.version, license: manifest.license ?? 'UNKNOWN' };
  });
}
