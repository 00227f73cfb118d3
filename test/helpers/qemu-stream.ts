// A builder of QEMU migration streams for the walker's tests: every record kind, with or
// without footers and configuration, and the offset of every record boundary (for cuts).

export interface StreamOptions {
  footers?: boolean;
  configuration?: boolean;
  capabilities?: string[];
  description?: boolean;
}

export class QemuStreamBuilder {
  readonly #parts: Buffer[] = [];
  #length = 0;
  readonly boundaries: number[] = [];
  readonly options: Required<StreamOptions>;

  constructor(options: StreamOptions = {}) {
    this.options = { footers: true, configuration: true, capabilities: [], description: true, ...options };
    this.#put(u32(0x5145564d), u32(3));
    if (this.options.configuration) {
      const caps = this.options.capabilities;
      this.#put(u8(7), str32('pc-q35-9.2'));
      if (caps.length > 0) this.#put(u8(5), str8('configuration/capabilities'), u32(1), u32(caps.length), ...caps.map(str8));
    }
  }

  /** Appends bytes as one record (a boundary after it). */
  #put(...parts: Buffer[]): this {
    for (const part of parts) {
      this.#parts.push(part);
      this.#length += part.length;
    }
    this.boundaries.push(this.#length);
    return this;
  }

  start(id: number, name: string, version: number, payload: Buffer[]): this {
    return this.#put(u8(1), u32(id), str8(name), u32(0), u32(version), ...payload, ...this.#footer(id));
  }

  part(id: number, payload: Buffer[], type = 2): this {
    return this.#put(u8(type), u32(id), ...payload, ...this.#footer(id));
  }

  full(id: number, name: string, instance: number, body: Buffer): this {
    return this.#put(u8(4), u32(id), str8(name), u32(instance), u32(1), body, ...this.#footer(id));
  }

  command(cmd: number, data: Buffer, nested: Buffer = Buffer.alloc(0)): this {
    const header = Buffer.alloc(5);
    header[0] = 8;
    header.writeUInt16BE(cmd, 1);
    header.writeUInt16BE(data.length, 3);
    return this.#put(header, data, nested);
  }

  eof(devices: Array<{ name: string; instance: number; size: number }>): Buffer {
    this.#put(u8(0));
    if (this.options.description) {
      const json = JSON.stringify({ page_size: 4096, devices: devices.map((d) => ({ name: d.name, instance_id: d.instance, vmsd_name: d.name, version: 1, fields: [{ name: 'f', type: 'buffer', size: d.size }] })) });
      this.#put(u8(6), str32(json));
    }
    return Buffer.concat(this.#parts, this.#length);
  }

  #footer(id: number): Buffer[] {
    return this.options.footers ? [u8(0x7e), u32(id)] : [];
  }
}

/** RAM records. */
export const ram = {
  memSize: (blocks: Array<[string, number]>) => [u64(blocks.reduce((sum, [, length]) => sum + length, 0) + 0x04), ...blocks.flatMap(([name, length]) => [str8(name), u64(length)])],
  page: (address: number, block: string | null, fill = 0x5a) => [u64(address + 0x08 + (block === null ? 0x20 : 0)), ...(block === null ? [] : [str8(block)]), Buffer.alloc(4096, fill)],
  zero: (address: number, block: string | null, fill = 0) => [u64(address + 0x02 + (block === null ? 0x20 : 0)), ...(block === null ? [] : [str8(block)]), u8(fill)],
  xbzrle: (address: number, block: string | null, delta: Buffer) => [u64(address + 0x40 + (block === null ? 0x20 : 0)), ...(block === null ? [] : [str8(block)]), u8(1), u16(delta.length), delta],
  compressed: (address: number, block: string | null, data: Buffer) => [u64(address + 0x100 + (block === null ? 0x20 : 0)), ...(block === null ? [] : [str8(block)]), u32(data.length), data],
  flush: () => [u64(0x200)],
  eos: () => [u64(0x10)],
  raw: (value: number) => [u64(value)],
};

export function u8(value: number): Buffer {
  return Buffer.from([value]);
}
export function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}
export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}
export function u64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value));
  return b;
}
export function str8(text: string): Buffer {
  return Buffer.concat([u8(text.length), Buffer.from(text, 'latin1')]);
}
export function str32(text: string): Buffer {
  const body = Buffer.from(text);
  return Buffer.concat([u32(body.length), body]);
}
