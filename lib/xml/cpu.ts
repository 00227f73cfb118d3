// The guest CPU as defined (domain XML) against the CPU QEMU actually started (the cookie,
// written by libvirt >= 3.5 in qemuDomainSaveCookieFormat). A libvirt or host that sees only
// the definition restores with the defined CPU, so every difference is a restore risk.
import { child, type XmlElement } from './parse.js';

export interface CpuFeature {
  name: string;
  /** libvirt's default policy is `require`. */
  policy: string;
}

export interface CpuDefinition {
  mode: string | null;
  match: string | null;
  check: string | null;
  model: string | null;
  fallback: string | null;
  vendor: string | null;
  features: CpuFeature[];
}

export interface CpuChange {
  name: string;
  from: string;
  to: string;
}

export interface CpuComparison {
  /** `<cpu>` of the domain XML; null when the definition has none (hypervisor default). */
  defined: CpuDefinition | null;
  /** `<cpu>` of the cookie; null when the image records no started CPU. */
  started: CpuDefinition | null;
  modelChanged: boolean;
  checkChanged: boolean;
  /** Features present only in the started CPU. */
  added: CpuFeature[];
  /** Features present only in the definition. */
  removed: CpuFeature[];
  /** Features whose policy differs. */
  changed: CpuChange[];
  /** True when restoring from the definition alone gives the guest the CPU it was saved with. */
  portable: boolean;
  verdict: string;
}

export function readCpu(element: XmlElement | undefined): CpuDefinition | null {
  const cpu = child(element, 'cpu');
  if (!cpu) return null;
  const model = child(cpu, 'model');
  return {
    mode: cpu.attributes.mode ?? null,
    match: cpu.attributes.match ?? null,
    check: cpu.attributes.check ?? null,
    model: model ? model.text.trim() : null,
    fallback: model?.attributes.fallback ?? null,
    vendor: child(cpu, 'vendor')?.text.trim() ?? null,
    features: cpu.children
      .filter((c) => c.name === 'feature' && c.attributes.name !== undefined)
      .map((c) => ({ name: c.attributes.name!, policy: c.attributes.policy ?? 'require' })),
  };
}

/** Compares the domain XML's CPU with the cookie's (either may be absent). */
export function compareCpu(domain: XmlElement, cookie: XmlElement | null): CpuComparison {
  const defined = readCpu(domain);
  const started = cookie ? readCpu(cookie) : null;
  if (started === null) {
    return {
      defined, started, modelChanged: false, checkChanged: false, added: [], removed: [], changed: [], portable: true,
      verdict: 'the image records no started CPU: libvirt restores it with the CPU of the domain XML, as saved',
    };
  }
  const before = new Map((defined?.features ?? []).map((f) => [f.name, f.policy]));
  const after = new Map(started.features.map((f) => [f.name, f.policy]));
  const added = started.features.filter((f) => !before.has(f.name));
  const removed = (defined?.features ?? []).filter((f) => !after.has(f.name));
  const changed = started.features
    .filter((f) => before.has(f.name) && before.get(f.name) !== f.policy)
    .map((f) => ({ name: f.name, from: before.get(f.name)!, to: f.policy }));
  const modelChanged = (defined?.model ?? null) !== started.model || (defined?.mode ?? null) !== started.mode;
  const checkChanged = (defined?.check ?? null) !== started.check;
  const portable = !modelChanged && added.length === 0 && removed.length === 0 && changed.length === 0;
  const verdict = portable
    ? 'QEMU started the CPU the domain XML defines: the image restores the same with or without the cookie'
    : 'QEMU started a different CPU than the domain XML defines: a libvirt or host that ignores the cookie ' +
      '(libvirt < 3.5, or a tool that keeps only the domain XML) would restore the guest on the defined CPU, ' +
      'and the guest may fail to restore or lose CPU features it saw';
  return { defined, started, modelChanged, checkChanged, added, removed, changed, portable, verdict };
}
