/**
 * The block I/O thread's entry (io-thread.ts): runs the reads and writes its client submits, with
 * synchronous `pread`/`pwrite` straight into the client's shared buffers (guest memory), and
 * polls for more for a short window before it sleeps, like an io_uring SQPOLL thread. A buffer is
 * known by the id the client registered it under on `port` (read synchronously, in order, so a
 * registration always arrives before the first request that names it).
 *
 * A result is the byte count, or a negative errno (Node.js's `error.errno`). A read past the end of
 * the file fills the rest of the buffer with zeros (as `HostFile.readAt` does).
 */
import { readSync, writeSync } from 'node:fs';
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { HaltPoll } from '@viridian/vmbus';
import { IO_SLOT_MASK, IoControl, IoOp, IoSlotInt, IoSlotNumber, ioRingViews } from './io-ring-layout.ts';

/** A buffer registration or its removal, as the client posts them. */
export type IoBufferMessage = { readonly id: number; readonly buffer: SharedArrayBuffer } | { readonly id: number; readonly buffer?: undefined };

const { ring, port, pollMicros } = workerData as { ring: SharedArrayBuffer; port: MessagePort; pollMicros: number };
const { control, submissions, completions, ints, numbers } = ioRingViews(ring);
const buffers = new Map<number, Uint8Array>();
const poll = new HaltPoll(pollMicros);

/** Applies one pending registration or removal; false when none is pending. */
function receiveOne(): boolean {
  const received = receiveMessageOnPort(port) as { message: IoBufferMessage } | undefined;
  if (received === undefined) return false;
  const { id, buffer } = received.message;
  if (buffer === undefined) buffers.delete(id);
  else buffers.set(id, new Uint8Array(buffer));
  return true;
}

function bufferOf(id: number): Uint8Array | undefined {
  for (let view = buffers.get(id); view === undefined; view = buffers.get(id)) if (!receiveOne()) return undefined;
  return buffers.get(id);
}

function run(slot: number): number {
  const i = slot * IoSlotInt.WORDS;
  const n = slot * IoSlotNumber.WORDS;
  const memory = bufferOf(ints[i + IoSlotInt.bufferId]!);
  if (memory === undefined) return -22; // EINVAL: never registered (a client bug)
  const fd = ints[i + IoSlotInt.fd]!;
  const position = numbers[n + IoSlotNumber.position]!;
  const length = numbers[n + IoSlotNumber.length]!;
  const offset = numbers[n + IoSlotNumber.bufferOffset]!;
  if (offset < 0 || length < 0 || offset + length > memory.byteLength) return -22;
  try {
    let done = 0;
    if (ints[i + IoSlotInt.op] === IoOp.read) {
      while (done < length) {
        const got = readSync(fd, memory, offset + done, length - done, position + done);
        if (got === 0) break;
        done += got;
      }
      if (done < length) memory.fill(0, offset + done, offset + length);
    } else {
      while (done < length) done += writeSync(fd, memory, offset + done, length - done, position + done);
    }
    return length;
  } catch (error) {
    const errno = (error as { errno?: unknown }).errno;
    return typeof errno === 'number' && errno < 0 ? errno : -5; // EIO when Node.js gives none
  }
}

let taken = 0; // submissions consumed
let published = 0; // completions published
while (Atomics.load(control, IoControl.STOP) === 0) {
  let head = Atomics.load(control, IoControl.SQ_HEAD);
  if (head === taken) {
    const until = performance.now() + poll.windowUs / 1000;
    while ((head = Atomics.load(control, IoControl.SQ_HEAD)) === taken && performance.now() < until);
    if (head !== taken) {
      poll.hit();
    } else {
      while (receiveOne()); // drop buffers the client forgot (a child's memory), so they can be freed
      const slept = performance.now();
      Atomics.store(control, IoControl.THREAD_SLEEPING, 1);
      if (Atomics.load(control, IoControl.SQ_HEAD) === taken && Atomics.load(control, IoControl.STOP) === 0) Atomics.wait(control, IoControl.SQ_HEAD, taken);
      Atomics.store(control, IoControl.THREAD_SLEEPING, 0);
      poll.slept((performance.now() - slept) * 1000, poll.windowUs);
      continue;
    }
  }
  while (taken !== head) {
    const slot = submissions[taken & IO_SLOT_MASK]!;
    taken++;
    numbers[slot * IoSlotNumber.WORDS + IoSlotNumber.result] = run(slot);
    completions[published & IO_SLOT_MASK] = slot;
    published++;
    Atomics.store(control, IoControl.CQ_HEAD, published);
    if (Atomics.load(control, IoControl.CLIENT_WAITING) === 1) Atomics.notify(control, IoControl.CQ_HEAD);
  }
}
