// A TCP relay between savekit and radosgw that counts what crosses it: bytes each way and HTTP
// requests by method, as the server sees them. Nothing is answered here: every byte goes on to
// the real gateway and back. It can also hold requests (writes of two savekits at once, released
// together) and cut every open connection (a store that goes away mid-transfer).
import { createServer, type Server, type Socket, connect } from 'node:net';

export interface Counts {
  sent: number;
  received: number;
  requests: number;
  byMethod: Record<string, number>;
}

const REQUEST_LINE = /(?:^|\r\n)(GET|PUT|POST|HEAD|DELETE) (\/\S*) HTTP\/1\.1\r\n/g;

export class CountingProxy {
  counts: Counts = empty();
  /** Request lines seen, in order ("PUT /bucket/key?partNumber=1&uploadId=..."). */
  log: string[] = [];
  /** When each line of `log` was seen (ms, performance.now()). */
  times: number[] = [];
  readonly #sockets = new Set<Socket>();
  #hold: { matches: (line: string) => boolean; until: number; held: (() => void)[] } | null = null;

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstreamPort: number): Promise<CountingProxy> {
    let proxy: CountingProxy | null = null;
    const server = createServer((client) => proxy!.#relay(client, upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new CountingProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  reset(): Counts {
    const counts = this.counts;
    this.counts = empty();
    this.log = [];
    this.times = [];
    return counts;
  }

  /** Holds requests whose line matches until `count` of them are held, then lets them all go on at once. */
  holdUntil(count: number, matches: (line: string) => boolean): void {
    this.#hold = { matches, until: count, held: [] };
  }

  /** How many requests are held now. */
  held(): number {
    return this.#hold?.held.length ?? 0;
  }

  /** Lets every held request go on, and holds no more. */
  release(): void {
    const hold = this.#hold;
    this.#hold = null;
    for (const release of hold?.held ?? []) release();
  }

  /** Cuts every open connection (each side sees a reset). */
  cutAll(): void {
    for (const socket of this.#sockets) socket.resetAndDestroy();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise((resolve) => this.server.close(resolve));
  }

  #relay(client: Socket, upstreamPort: number): void {
    const upstream = connect(upstreamPort, '127.0.0.1');
    this.#sockets.add(client).add(upstream);
    const forget = () => {
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
    let waiting: Buffer[] | null = null;
    client.on('data', (chunk: Buffer) => {
      this.counts.sent += chunk.length;
      const text = chunk.toString('latin1');
      for (const match of text.matchAll(REQUEST_LINE)) {
        this.counts.requests++;
        this.counts.byMethod[match[1]!] = (this.counts.byMethod[match[1]!] ?? 0) + 1;
        const line = `${match[1]} ${match[2]}`;
        this.log.push(line);
        this.times.push(performance.now());
        const hold = this.#hold;
        if (hold && waiting === null && hold.matches(line)) {
          waiting = [];
          const chunks = waiting;
          hold.held.push(() => {
            for (const held of chunks) upstream.write(held);
            waiting = null;
          });
          if (hold.held.length >= hold.until) {
            this.#hold = null;
            for (const release of hold.held) release();
          }
        }
      }
      if (waiting) waiting.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      this.counts.received += chunk.length;
      client.write(chunk);
    });
  }
}

function empty(): Counts {
  return { sent: 0, received: 0, requests: 0, byMethod: {} };
}
