// What savekit reads from a domain definition: identity for `info`, and the fields that
// libvirt's ABI-stability check (virDomainDefCheckABIStability) refuses to see change.
import { SaveImageError } from '../errors.js';
import { child, type XmlElement } from './parse.js';

export interface DomainIdentity {
  name: string | null;
  uuid: string | null;
}

/** The fields an in-place edit must keep; memory in bytes. */
export interface DomainAbi extends DomainIdentity {
  maxMemoryBytes: number | null;
  vcpus: number | null;
}

const UNIT_BYTES: Record<string, number> = {
  b: 1, bytes: 1,
  kb: 1e3, k: 1024, kib: 1024,
  mb: 1e6, m: 1024 ** 2, mib: 1024 ** 2,
  gb: 1e9, g: 1024 ** 3, gib: 1024 ** 3,
  tb: 1e12, t: 1024 ** 4, tib: 1024 ** 4,
  pb: 1e15, p: 1024 ** 5, pib: 1024 ** 5,
  eb: 1e18, e: 1024 ** 6, eib: 1024 ** 6,
};

export function domainIdentity(domain: XmlElement): DomainIdentity {
  return { name: textOf(child(domain, 'name')), uuid: textOf(child(domain, 'uuid'))?.toLowerCase() ?? null };
}

export function domainAbi(domain: XmlElement): DomainAbi {
  const memory = child(domain, 'memory');
  const vcpu = textOf(child(domain, 'vcpu'));
  return {
    ...domainIdentity(domain),
    maxMemoryBytes: memory ? memoryBytes(memory) : null,
    vcpus: vcpu === null ? null : Number(vcpu),
  };
}

/** The guest's architecture and machine type as `<os><type arch=... machine=...>` gives them. */
export function domainMachine(domain: XmlElement): { arch: string | null; machine: string | null } {
  const type = child(child(domain, 'os') ?? { name: '', attributes: {}, children: [], text: '' }, 'type');
  return { arch: type?.attributes.arch ?? null, machine: type?.attributes.machine ?? null };
}

/** Throws ERR_ABI_MISMATCH on the first field that differs, naming it and both values. */
export function assertSameAbi(stored: DomainAbi, proposed: DomainAbi): void {
  const fields: Array<[keyof DomainAbi, string]> = [
    ['name', 'domain name'],
    ['uuid', 'domain UUID'],
    ['maxMemoryBytes', 'maximum memory (bytes)'],
    ['vcpus', 'vCPU count'],
  ];
  for (const [key, label] of fields) {
    if (stored[key] !== proposed[key]) {
      throw new SaveImageError(
        'ERR_ABI_MISMATCH',
        `the new XML changes the ${label} from ${JSON.stringify(stored[key])} to ${JSON.stringify(proposed[key])}; ` +
          `the saved guest would not restore (use --force to skip this check)`,
        { expected: stored[key], actual: proposed[key] },
      );
    }
  }
}

function memoryBytes(element: XmlElement): number | null {
  const value = Number(element.text.trim());
  const unit = UNIT_BYTES[(element.attributes.unit ?? 'KiB').toLowerCase()];
  return Number.isFinite(value) && unit !== undefined ? value * unit : null;
}

function textOf(element: XmlElement | undefined): string | null {
  return element ? element.text.trim() : null;
}
