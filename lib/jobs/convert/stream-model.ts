// What a re-encoded stream carries over from the walked one (jobs/convert/): everything but its
// pages, checked to be what savekit can re-encode.
import { SaveImageError } from '../../errors.js';
import type { StreamModel } from '../../codec/qemu/stream-writer.js';
import type { WalkSummary } from '../../codec/qemu/walker.js';
import { assertWalkable } from './conversion.js';

/** What is carried over from a walked stream, less its pages. */
export function modelOf(summary: WalkSummary, devices: StreamModel['devices']): StreamModel {
  assertWalkable(summary);
  const ram = summary.sections.find((section) => section.name === 'ram');
  if (!ram) throw new SaveImageError('ERR_BAD_STREAM', 'the QEMU stream has no ram section: nothing to convert');
  const unknown = summary.commands.filter((command) => command !== 'SWITCHOVER_START');
  if (unknown.length > 0) throw new SaveImageError('ERR_BAD_STREAM', `the QEMU stream carries ${unknown.join(', ')}: a virsh save stream never does, and savekit converts only what it can re-encode`);
  if (summary.capabilities.includes('x-ignore-shared')) throw new SaveImageError('ERR_BAD_STREAM', 'the QEMU stream uses x-ignore-shared: its RAM is not in the image and cannot be converted');
  return {
    machine: summary.machine,
    configuration: summary.configuration,
    capabilities: summary.capabilities,
    ram: { id: ram.id, instance: ram.instance, version: ram.version },
    blocks: summary.ramBlocks.map(({ name, length }) => ({ name, length })),
    pageSize: summary.ramBlocks[0]?.pageSize ?? 4096,
    footers: summary.footers,
    switchoverStart: summary.commands.includes('SWITCHOVER_START'),
    devices,
    description: summary.vmdescription?.text ?? null,
  };
}

export function deviceCollector(): { devices: StreamModel['devices']; onDeviceSection: (section: { id: number; name: string; instance: number; version: number }, bytes: Buffer) => void } {
  const devices: StreamModel['devices'] = [];
  return { devices, onDeviceSection: ({ id, name, instance, version }, bytes) => devices.push({ id, name, instance, version, bytes }) };
}
