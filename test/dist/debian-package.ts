// The Debian package as an admin meets it: a bare Debian root (debootstrap --variant=minbase,
// no nodejs), `apt-get install ./savekit_*.deb` pulling in what it Depends on and Recommends
// (the compressors), the commands on the genuine samples, `man savekit`, bash completing through
// bash-completion's own loader, then `dpkg -r` leaving nothing behind. The pristine root is built
// once into the interop cache (test/interop/debian-root.ts, shared with the interop stages);
// each run works on a fresh copy, removed at the end.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, ensureMinbaseRoot, mountInto } from '../interop/debian-root.js';
import { sh } from '../interop/stage.js';
import type { Runner } from './agreement.js';

export type Suite = 'bullseye' | 'trixie';

/** The files the package installs (and `dpkg -r` must take away). */
export const PACKAGE_FILES = [
  '/usr/bin/savekit',
  '/usr/share/man/man1/savekit.1.gz',
  '/usr/share/bash-completion/completions/savekit',
  '/usr/share/doc/savekit/copyright',
  '/usr/share/doc/savekit/changelog.gz',
  '/usr/share/lintian/overrides/savekit',
];

export class BareRoot {
  readonly root: string;
  #unmount: (() => void) | null = null;

  private constructor(readonly suite: Suite) {
    this.root = join(CACHE, `dist-${suite}-${process.pid}`);
  }

  /** A fresh copy of the pristine minbase root of `suite` (built first if the cache has none), mounted. */
  static open(suite: Suite, log: (line: string) => void): BareRoot {
    const pristine = ensureMinbaseRoot(suite, log);
    const bare = new BareRoot(suite);
    rmSync(bare.root, { recursive: true, force: true });
    sh('cp', ['-a', pristine, bare.root]); // device nodes and owners too, which fs.cpSync cannot copy
    bare.#unmount = mountInto(bare.root, false);
    return bare;
  }

  /** A command in the root, as root, from `cwd` inside it. */
  run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): ReturnType<typeof sh> {
    const env = Object.entries({ LANG: 'C.UTF-8', PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...options.env }).map(([key, value]) => `${key}=${value}`);
    const script = 'cd "$1" && shift && exec "$@"';
    return sh('chroot', [this.root, 'env', '-i', ...env, 'sh', '-c', script, 'sh', options.cwd ?? '/', command, ...args], { allowFail: true, timeoutMs: options.timeoutMs ?? 120_000 });
  }

  /** The installed savekit, for the agreement table (folders are the host's paths under the root). */
  savekit(): Runner {
    return (args, cwd) => {
      const result = this.run('/usr/bin/savekit', args, { cwd: cwd.slice(this.root.length) || '/' });
      return { status: result.status, stdout: result.out, stderr: result.stderr };
    };
  }

  /** Whether the root has a package installed. */
  installed(name: string): boolean {
    return this.run('dpkg-query', ['-W', '-f', '${db:Status-Status}', name]).stdout === 'installed';
  }

  close(): void {
    this.#unmount?.();
    this.#unmount = null;
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** What bash offers for a half-typed savekit command line, the completion loaded by bash-completion itself. */
export function completionIn(bare: BareRoot, words: string[]): string[] {
  const script = [
    'source /usr/share/bash-completion/bash_completion',
    // The loader of bash-completion 2.12 and later, else the older one: either finds /usr/share/bash-completion/completions/savekit.
    'if declare -F _comp_load >/dev/null; then _comp_load savekit; else _completion_loader savekit; fi',
    `COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}`,
    'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}',
    '$(complete -p savekit | sed -E "s/.*-F ([^ ]+) .*/\\1/") savekit "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  return bare.run('bash', ['-c', script]).stdout.split('\n').filter(Boolean);
}
