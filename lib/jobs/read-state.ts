// Every device's state from an image read from a descriptor, whatever the payload format: the
// walk hands over each device section's bytes (RAM is never held), and once QEMU's description
// is known (a file's tail, or the end of a pipe) each section is decoded with its entry. From a
// pipe the sections wait for the description, capped in total.
import { type DeviceState, decodeDeviceState, type DeviceDescription } from '../codec/qemu/device-state.js';
import type { StateSection } from '../codec/qemu/state-format.js';
import type { SectionSummary, WalkSummary } from '../codec/qemu/walker.js';
import { SaveImageError } from '../errors.js';
import type { FdSource } from '../io/fd-source.js';
import { type ImageWalk, walkImage, type WalkImageOptions } from './walk-image.js';

/** Device state held while waiting for the description (genuine images hold about 30 KiB). */
export const MAX_HELD_DEVICE_BYTES = 256 * 1024 * 1024;

/** A device section savekit could not decode, with its bytes and why. */
export interface UndecodedSection {
  id: number;
  name: string;
  instance: number;
  version: number;
  bytes: Buffer;
  reason: string;
}

export interface ImageState {
  walk: ImageWalk;
  /** RAM and decoded devices, in the order their section ids were first seen. */
  sections: StateSection[];
  undecoded: UndecodedSection[];
  /** Why nothing could be decoded (no description), else null. */
  missingDescription: string | null;
}

export interface ReadStateOptions extends Pick<WalkImageOptions, 'readOptions' | 'onPrologue' | 'onStart' | 'onProgress'> {
  /** Keep only the devices whose section name or vmsd name is one of these. */
  devices?: string[];
}

export async function readImageState(source: FdSource, options: ReadStateOptions = {}): Promise<ImageState> {
  const held: HeldSection[] = [];
  let heldBytes = 0;
  const walk = await walkImage(source, {
    ...options,
    onDeviceSection(section, bytes, offset) {
      heldBytes += bytes.length;
      if (heldBytes > MAX_HELD_DEVICE_BYTES) {
        throw new SaveImageError('ERR_BAD_STREAM', `the device sections add up to more than ${MAX_HELD_DEVICE_BYTES} bytes (at section ${section.id}, ${section.name}): more than savekit holds to decode them`, { offset });
      }
      held.push({ section, bytes, offset });
    },
  });
  return { walk, ...decodeHeldSections(walk.summary, held, options.devices) };
}

/** A device section's bytes as the walk handed them over. */
export interface HeldSection {
  section: SectionSummary;
  bytes: Buffer;
  offset: number;
}

/** Each held device section decoded with the walk's description (those of `devices` only, if given). */
export function decodeHeldSections(summary: WalkSummary, held: HeldSection[], devices?: string[]): Omit<ImageState, 'walk'> {
  if (summary.opaqueFrom !== null) {
    throw new SaveImageError('ERR_BAD_STREAM', `the stream cannot be split into device sections from offset ${summary.opaqueFrom} on (no description sizes them and no footers delimit them)`, { offset: summary.opaqueFrom });
  }
  const descriptions = new Map<string, DeviceDescription>();
  for (const description of summary.vmdescription?.deviceDescriptions ?? []) descriptions.set(`${description.name}\0${description.instance_id}`, description);
  const missingDescription = summary.vmdescription === null ? 'the stream carries no device description (QEMU writes one unless it was suppressed; older streams lack it)' : null;

  const byId = new Map(held.map((entry) => [entry.section.id, entry]));
  const wanted = devices && devices.length > 0 ? new Set(devices) : null;
  const sections: StateSection[] = [];
  const undecoded: UndecodedSection[] = [];
  for (const section of summary.sections) {
    if (section.name === 'ram') {
      if (!wanted || wanted.has('ram')) sections.push({ id: section.id, name: section.name, ramBlocks: summary.ramBlocks.map(({ name, length }) => ({ name, length })) });
      continue;
    }
    const entry = byId.get(section.id);
    if (!entry) continue;
    const description = descriptions.get(`${section.name}\0${section.instance}`);
    if (wanted && !wanted.has(section.name) && !(description?.vmsd_name !== undefined && wanted.has(description.vmsd_name))) continue;
    const { id, name, instance, version } = section;
    if (!description) {
      undecoded.push({ id, name, instance, version, bytes: entry.bytes, reason: missingDescription ?? 'the device description has no entry for this section' });
      continue;
    }
    const state: DeviceState = decodeDeviceState(entry.bytes, description, { id, name, instance, version, baseOffset: entry.offset });
    sections.push({ id, name, state });
  }
  return { sections, undecoded, missingDescription };
}
