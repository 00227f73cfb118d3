// The second reader of a read-ahead ring (read-ring.ts), in a worker thread: it fills the slots
// the reading thread has let go of, ahead of where that thread takes them. It may start before
// its ring exists (prestartReadWorker) and gets the ring in its first message. Runs as a worker
// entry only; no top-level await, so that the one-file executable can run it bundled as a script.
import { parentPort } from 'node:worker_threads';
import { fillUntilShutdown, type RingData, RingView } from './ring-layout.js';

parentPort!.once('message', (data: RingData) => {
  fillUntilShutdown(new RingView(data));
  parentPort!.close(); // nothing else will come: the thread ends
});
