// A lazy walk of a QEMU migration stream, fed chunk by chunk (any source, any chunking): it
// reads record headers and skips page bodies and device state without copying them, and sums
// up machine, capabilities, RAM blocks, sections and devices. Written as a generator that asks
// for bytes (take, peek, skip), driven by QemuStreamWalker.feed(); the driver can turn a long
// skip into a seek (skipHint). Mirrors qemu_loadvm_state (migration/savevm.c) and ram_load
// (migration/ram.c) as QEMU-STREAM.md describes them. Pure.
import { SaveImageError } from '../../errors.js';
import { ByteQueue } from '../byte-queue.js';
import { COMMAND_NAMES, COMMAND_PACKAGED, QEVM_MAGIC, QEVM_VERSION, RAM_SECTION_VERSION, RECORD } from './records.js';
import { devicePayload, footer } from './device-sections.js';
import { ramPayload } from './ram-records.js';
import { afterEof } from './stream-tail.js';
import { MAX_MACHINE_NAME_BYTES, type Request, type SectionSummary, type WalkOptions, WalkState, type WalkSummary } from './walk-state.js';

export { MAX_DEVICE_SECTION_BYTES, type DeviceSizing, type RamBlockSummary, type SectionSummary, type WalkOptions, type WalkSummary } from './walk-state.js';

/** Feeds a stream in, reports its summary at the end. */
export class QemuStreamWalker {
  readonly #queue = new ByteQueue();
  readonly #state: WalkState;
  readonly #steps: Generator<Request, void, Buffer>;
  #request: Request | null;
  #ended = false;
  #done = false;

  constructor(options: WalkOptions = {}) {
    this.#state = new WalkState(options);
    this.#steps = walk(this.#state);
    this.#request = this.#next(Buffer.alloc(0));
  }

  /** Bytes the walker will skip next without looking at them (a seekable driver may jump). */
  get skipHint(): number {
    const request = this.#request;
    return request && 'skip' in request && this.#queue.length === 0 ? request.skip : 0;
  }

  /** The driver jumped over `n` bytes (at most skipHint) instead of feeding them. */
  skipped(n: number): void {
    const request = this.#request;
    if (!request || !('skip' in request) || this.#queue.length > 0 || n > request.skip) throw new RangeError('skipped more than asked');
    request.skip -= n;
    this.#state.position += n;
    this.#run();
  }

  /** Walks through `chunk`; the caller may reuse its memory as soon as this returns. */
  feed(chunk: Buffer): void {
    if (this.#done) {
      this.#state.trailing(chunk);
      return;
    }
    this.#queue.push(chunk);
    this.#run();
    this.#queue.keepCopies();
  }

  /** The input ended: the summary, or ERR_TRUNCATED naming where the stream was cut. */
  end(): WalkSummary {
    this.#ended = true;
    this.#run();
    if (!this.#done) {
      throw new SaveImageError('ERR_TRUNCATED', `the QEMU stream ends at offset ${this.#state.absolute(this.#queue.length)}${this.#state.offsetsOf} inside ${this.#state.where}`, {
        offset: this.#state.absolute(this.#queue.length),
      });
    }
    return this.#state.summary();
  }

  #run(): void {
    while (this.#request !== null) {
      const request = this.#request;
      const queue = this.#queue;
      let answer: Buffer;
      if ('take' in request) {
        if (queue.length < request.take) return;
        answer = queue.take(request.take);
        this.#state.position += request.take;
      } else if ('peek' in request) {
        if (queue.length < request.peek && !this.#ended) return;
        answer = queue.peek(Math.min(request.peek, queue.length));
      } else if ('skip' in request) {
        const n = Math.min(request.skip, queue.length);
        queue.skip(n);
        this.#state.position += n;
        request.skip -= n;
        if (request.skip > 0) return;
        answer = EMPTY;
      } else if ('scan' in request) {
        const first = queue.first();
        if (first === null && !this.#ended) return;
        const n = first === null ? 0 : request.scan(first);
        queue.skip(n);
        this.#state.position += n;
        answer = EMPTY;
      } else {
        if (!this.#ended) {
          this.#state.position += queue.length;
          queue.skip(queue.length);
          return;
        }
        answer = EMPTY;
      }
      this.#request = this.#next(answer);
    }
  }

  #next(answer: Buffer): Request | null {
    const step = this.#steps.next(answer);
    if (step.done) {
      this.#done = true;
      this.#state.trailing(this.#queue.take(this.#queue.length));
      return null;
    }
    return step.value;
  }
}

const EMPTY = Buffer.alloc(0);

/** The walk itself: one request for bytes at a time. */
function* walk(s: WalkState): Generator<Request, void, Buffer> {
  const head = yield { take: 8 };
  if (head.readUInt32BE(0) !== QEVM_MAGIC) throw s.bad(`not a QEMU migration stream: magic ${head.subarray(0, 4).toString('hex')}, not 5145564d (QEVM)`, s.absolute(-8));
  s.streamVersion = head.readUInt32BE(4);
  if (s.streamVersion !== QEVM_VERSION) throw s.bad(`unsupported stream version ${s.streamVersion} (QEMU reads 3)`, s.absolute(-4));
  let pageSize = s.vmdescription?.pageSize ?? 4096;
  let mappedRam = false;
  let lastClosed: number | null = null;

  for (;;) {
    s.where = 'a record header';
    const type = (yield { take: 1 })[0]!;
    const recordAt = s.absolute(-1);
    switch (type) {
      case RECORD.EOF: {
        s.eof = true;
        s.endOffset = s.absolute();
        yield* afterEof(s);
        return;
      }
      case RECORD.CONFIGURATION: {
        s.where = 'the configuration section';
        const length = (yield { take: 4 }).readUInt32BE(0);
        if (length > MAX_MACHINE_NAME_BYTES) throw s.bad(`a machine type name of ${length} bytes`, s.absolute(-4));
        s.machine = (yield { take: length }).toString('latin1');
        for (;;) {
          const next = yield { peek: 1 };
          if (next[0] !== RECORD.SUBSECTION) break;
          yield { take: 1 };
          const nameLength = (yield { take: 1 })[0]!;
          const name = (yield { take: nameLength }).toString('latin1');
          const version = (yield { take: 4 }).readUInt32BE(0);
          if (name === 'configuration/capabilities') {
            const count = (yield { take: 4 }).readUInt32BE(0);
            for (let i = 0; i < count; i++) s.capabilities.push((yield { take: (yield { take: 1 })[0]! }).toString('latin1'));
            s.configuration.push({ name, version, body: null });
          } else if (name === 'configuration/target-page-bits') {
            const body = Buffer.from(yield { take: 4 });
            pageSize = 2 ** body.readUInt32BE(0);
            s.configuration.push({ name, version, body });
          } else if (name === 'configuration/uuid') {
            s.configuration.push({ name, version, body: Buffer.from(yield { take: 16 }) });
          } else {
            throw s.bad(`unknown configuration subsection ${JSON.stringify(name)}: its length is not in the stream`);
          }
        }
        mappedRam = s.capabilities.includes('mapped-ram');
        break;
      }
      case RECORD.SECTION_START:
      case RECORD.SECTION_FULL: {
        s.where = 'a section header';
        const id = (yield { take: 4 }).readUInt32BE(0);
        const name = (yield { take: (yield { take: 1 })[0]! }).toString('latin1');
        const tail = yield { take: 8 };
        const section: SectionSummary = { id, name, instance: tail.readUInt32BE(0), version: tail.readUInt32BE(4), kind: type === RECORD.SECTION_START ? 'iterative' : 'device', bytes: 0 };
        s.sections.set(id, section);
        s.where = `section ${id} (${name})`;
        if (name === 'ram') {
          if (section.version !== RAM_SECTION_VERSION) throw s.bad(`ram section version ${section.version}, not ${RAM_SECTION_VERSION}`, recordAt);
          yield* ramPayload(s, section, pageSize, mappedRam);
        } else if (type === RECORD.SECTION_FULL) {
          s.devices.push(name);
          const sized = yield* devicePayload(s, section);
          if (!sized) return;
        } else {
          s.opaqueFrom = recordAt;
          s.sizing = 'opaque';
          yield { rest: true };
          return;
        }
        lastClosed = id;
        yield* footer(s, id);
        break;
      }
      case RECORD.SECTION_PART:
      case RECORD.SECTION_END: {
        const id = (yield { take: 4 }).readUInt32BE(0);
        const section = s.sections.get(id);
        if (!section) throw s.bad(`section id ${id} was never started`, recordAt);
        s.where = `section ${id} (${section.name})`;
        if (section.name !== 'ram') {
          s.opaqueFrom = recordAt;
          s.sizing = 'opaque';
          yield { rest: true };
          return;
        }
        yield* ramPayload(s, section, pageSize, mappedRam);
        lastClosed = id;
        yield* footer(s, id);
        break;
      }
      case RECORD.COMMAND: {
        s.where = 'a command';
        const header = yield { take: 4 };
        const command = header.readUInt16BE(0);
        const length = header.readUInt16BE(2);
        s.commands.push(COMMAND_NAMES[command] ?? `command ${command}`);
        const data = yield { take: length };
        if (command === COMMAND_PACKAGED) {
          if (length !== 4) throw s.bad(`PACKAGED command with ${length} bytes of data, not 4`, recordAt);
          yield { skip: data.readUInt32BE(0) }; // the nested stream, which len does not count
        }
        break;
      }
      case RECORD.SECTION_FOOTER:
        throw s.bad(`a section footer with no section to close (last closed: ${lastClosed ?? 'none'})`, recordAt);
      default:
        throw s.bad(`unknown record type 0x${type.toString(16).padStart(2, '0')}`, recordAt);
    }
  }
}
