// The VMDESCRIPTION JSON that QEMU writes after the stream's EOF byte, and what savekit takes
// from it: the byte size of every device (FULL) section, which the stream itself never states
// (QEMU-STREAM.md section 4), and each device's field list for decoding its state
// (device-state.ts). Pure.
import type { DeviceDescription as DeviceFields, StateDescription } from './device-state.js';

interface DeviceDescription extends DeviceFields {
  size?: number;
}

export interface VmDescription {
  pageSize: number | null;
  /** Devices in stream order, with the byte size of each section's payload. */
  devices: Array<{ name: string; instance: number; bytes: number }>;
  /** Each device's description as QEMU wrote it (fields, subsections), in stream order. */
  deviceDescriptions: DeviceFields[];
  /** The JSON text as the stream carried it. */
  text: string;
}

/** Parses the JSON; null when it is not a description savekit understands. */
export function decodeVmDescription(json: string): VmDescription | null {
  let parsed: { page_size?: number; devices?: DeviceDescription[] };
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch {
    return null;
  }
  if (!Array.isArray(parsed.devices)) return null;
  return {
    pageSize: typeof parsed.page_size === 'number' ? parsed.page_size : null,
    devices: parsed.devices.map((device) => ({
      name: String(device.name),
      instance: Number(device.instance_id),
      // Old-style sections carry a device-level size; the others add up their fields.
      bytes: typeof device.size === 'number' && !device.fields ? device.size : stateBytes(device),
    })),
    deviceDescriptions: parsed.devices,
    text: json,
  };
}

/** Field sizes (an `array_len` run counts each element) plus each subsection with its header. */
function stateBytes(state: StateDescription): number {
  const fields = (state.fields ?? []).reduce((sum, field) => sum + (field.size ?? 0) * (field.array_len ?? 1), 0);
  const subsections = (state.subsections ?? []).reduce((sum, sub) => sum + 1 + 1 + (sub.vmsd_name ?? '').length + 4 + stateBytes(sub), 0);
  return fields + subsections;
}
