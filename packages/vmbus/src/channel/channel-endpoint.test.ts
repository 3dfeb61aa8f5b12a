/**
 * Single-thread tests of a channel's ring pair (ChannelRegion), its two endpoints and their
 * signalling discipline (vmbus-wire.md §1.1, §3.1-§3.3), and of the Doorbell they sleep on. Waits
 * await events (a doorbell ring), never a fixed time.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, RingGeometryError } from '../errors.ts';
import { RingControl } from '../protocol/ring-layout.ts';
import { Doorbell } from '../ring/doorbell.ts';
import type { IncomingPacket } from '../ring/incoming-packet.ts';
import { ChannelEndpoint } from './channel-endpoint.ts';
import { ChannelRegion } from './channel-region.ts';

describe('ChannelRegion', () => {
  it.each([
    ['an unaligned start', () => new ChannelRegion(new ArrayBuffer(32768), 100, 8192, 8192)],
    ['a send ring of one page', () => new ChannelRegion(new ArrayBuffer(32768), 0, 4096, 8192)],
    ['a receive ring of one page', () => new ChannelRegion(new ArrayBuffer(32768), 0, 8192, 4096)],
    ['a ring size that is not whole pages', () => new ChannelRegion(new ArrayBuffer(32768), 0, 8192 + 100, 8192)],
    ['rings beyond the buffer', () => new ChannelRegion(new ArrayBuffer(16384), 0, 8192, 12288)],
    ['a start beyond the buffer', () => new ChannelRegion(new ArrayBuffer(16384), 8192, 8192, 8192)],
    ['zero sizes', () => ChannelRegion.allocate(0, 0)],
    ['a negative size', () => ChannelRegion.allocate(-8192)],
    ['an OPENCHANNEL page offset past the buffer', () => ChannelRegion.fromOpenChannel(new ArrayBuffer(16384), 0, 16384, 4)],
  ])('rejects %s with RingGeometryError', (_name, make) => {
    let thrown: unknown;
    try {
      make();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RingGeometryError);
    expect((thrown as RingGeometryError).code).toBe('VIRIDIAN_RING_GEOMETRY');
  });

  it('lays out the send ring first and the receive ring at downstreamPageOffset pages', () => {
    const region = ChannelRegion.allocate(3 * 4096, 5 * 4096);
    expect(region.downstreamPageOffset).toBe(3);
    expect(region.totalSize).toBe(8 * 4096);
    expect(region.ringMemory('send').dataSize).toBe(2 * 4096);
    expect(region.ringMemory('receive').dataSize).toBe(4 * 4096);

    const buffer = new SharedArrayBuffer(4096 + 6 * 4096);
    const opened = ChannelRegion.fromOpenChannel(buffer, 4096, 6 * 4096, 2);
    expect(opened.sendRingSize).toBe(2 * 4096);
    expect(opened.receiveRingSize).toBe(4 * 4096);
    expect(opened.downstreamPageOffset).toBe(2);
    // The receive ring's control page is at byteOffset + downstreamPageOffset * 4096.
    opened.ringMemory('receive').storeControl(RingControl.writeIndex, 0x1238);
    expect(new DataView(buffer).getUint32(4096 + 2 * 4096, true)).toBe(0x1238);
  });

  it('initialize() clears both control pages and sets feat_pending_send_sz in both', () => {
    const region = ChannelRegion.allocate(8192, 12288);
    const view = new DataView(region.buffer);
    for (const base of [0, 8192]) {
      for (const offset of [0, 4, 8, 12, 16, 100, 4092]) view.setUint32(base + offset, 0xdeadbeef, true);
    }
    region.initialize();
    for (const base of [0, 8192]) {
      expect(view.getUint32(base + 0, true)).toBe(0); // write_index
      expect(view.getUint32(base + 4, true)).toBe(0); // read_index
      expect(view.getUint32(base + 8, true)).toBe(0); // interrupt_mask
      expect(view.getUint32(base + 12, true)).toBe(0); // pending_send_sz
      expect(view.getUint32(base + 64, true)).toBe(1); // feature_bits
      expect(view.getUint32(base + 100, true)).toBe(0);
      expect(view.getUint32(base + 4092, true)).toBe(0);
    }
  });
});

/** A guest and a host endpoint over one region, each signalling the other's doorbell. */
function channel(ringSize = 8192, spinMicros = 0) {
  const region = ChannelRegion.allocate(ringSize);
  region.initialize();
  const guestIrq = Doorbell.create();
  const hostIrq = Doorbell.create();
  const guest = new ChannelEndpoint(region, 'guest', { interrupt: guestIrq, signalPeer: () => hostIrq.ring(), spinMicros });
  const host = new ChannelEndpoint(region, 'host', { interrupt: hostIrq, signalPeer: () => guestIrq.ring(), spinMicros });
  return { region, guest, host, guestIrq, hostIrq };
}

const ids = (into: bigint[]) => (packet: IncomingPacket) => into.push(packet.transactionId);

describe('ChannelEndpoint', () => {
  it('the guest writes the send ring and the host reads it; the host writes the receive ring', () => {
    const { region, guest, host } = channel();
    const view = new DataView(region.buffer);
    guest.outgoing.writeInband(Uint8Array.of(1, 2, 3), 11n);
    guest.flush();
    expect(view.getUint32(0, true)).toBe(32); // send ring write_index
    expect(view.getUint32(8192, true)).toBe(0); // receive ring untouched
    expect(guest.incoming.read()).toBeUndefined();
    const seen: bigint[] = [];
    expect(host.drain(ids(seen))).toBe(1);
    expect(seen).toEqual([11n]);
    expect(view.getUint32(4, true)).toBe(32); // send ring read_index released

    host.outgoing.writeCompletion(new Uint8Array(0), 11n);
    host.flush();
    expect(view.getUint32(8192, true)).toBe(24);
    const back = guest.incoming.read();
    expect(back?.kind).toBe('completion');
    expect(back?.transactionId).toBe(11n);
  });

  it('flush signals on empty-to-non-empty only; a masked or non-empty ring is not signalled', () => {
    const { guest, host, hostIrq } = channel();
    guest.outgoing.writeInband(Uint8Array.of(1), 1n);
    expect(guest.flush()).toBe(true); // empty ring, unmasked
    expect(hostIrq.sequence()).toBe(1);
    expect(guest.flush()).toBe(false); // nothing new
    // A second batch, written then committed, while the host has not read: no signal.
    guest.outgoing.writeInband(Uint8Array.of(2), 2n);
    guest.outgoing.writeInband(Uint8Array.of(3), 3n);
    expect(guest.flush()).toBe(false);
    expect(hostIrq.sequence()).toBe(1);
    expect(guest.counters.signalsSent).toBe(1);

    const seen: bigint[] = [];
    expect(host.drain(ids(seen))).toBe(3);
    expect(seen).toEqual([1n, 2n, 3n]);
    expect(host.counters.signalsSent).toBe(0); // the guest was not blocked
    // drain() leaves the ring masked: the guest does not interrupt a host that is draining.
    guest.outgoing.writeInband(Uint8Array.of(4), 4n);
    expect(guest.flush()).toBe(false);
    expect(hostIrq.sequence()).toBe(1);
  });

  it('drain() reads at most `limit` packets as one batch and releases them', () => {
    const { region, guest, host } = channel();
    for (let i = 0; i < 5; i++) guest.outgoing.writeInband(new Uint8Array(8), BigInt(i));
    guest.flush();
    const seen: bigint[] = [];
    expect(host.drain(ids(seen), 2)).toBe(2);
    expect(new DataView(region.buffer).getUint32(4, true)).toBe(2 * 32);
    expect(host.drain(ids(seen))).toBe(3);
    expect(host.drain(ids(seen))).toBe(0);
    expect(seen).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('wait({ packets }, 0) is false on an empty ring and true once data is there', () => {
    const { guest, host } = channel();
    expect(host.wait({ packets: true }, 0)).toBe(false);
    guest.outgoing.writeInband(Uint8Array.of(1), 1n);
    guest.flush();
    expect(host.wait({ packets: true }, 0)).toBe(true);
    expect(host.incoming.read()?.transactionId).toBe(1n);
  });

  it('wait() publishes its own pending writes first', () => {
    const { guest, host } = channel();
    guest.outgoing.writeInband(Uint8Array.of(1), 1n);
    expect(guest.wait({ packets: true }, 0)).toBe(false); // nothing for the guest to read...
    expect(host.incoming.hasData()).toBe(true); // ...but its packet was flushed
  });

  it('waitAsync({ packets }) sleeps and resolves when the peer writes and flushes', async () => {
    const { guest, host } = channel();
    const waiting = host.waitAsync({ packets: true });
    // The host armed (unmasked, re-checked) and went to sleep synchronously.
    expect(host.counters.sleeps).toBe(1);
    guest.outgoing.writeInband(Uint8Array.of(7), 7n);
    expect(guest.flush()).toBe(true); // unmasked and empty: the sleeper is signalled
    expect(await waiting).toBe(true);
    const seen: bigint[] = [];
    host.drain(ids(seen));
    expect(seen).toEqual([7n]);
  });

  it('waitAsync after a masked drain finds a packet the writer did not signal', async () => {
    const { guest, host, hostIrq } = channel();
    guest.outgoing.writeInband(Uint8Array.of(1), 1n);
    guest.flush();
    host.drain(() => {}); // leaves interrupt_mask set
    guest.outgoing.writeInband(Uint8Array.of(2), 2n);
    expect(guest.flush()).toBe(false); // masked: no interrupt
    const before = hostIrq.sequence();
    // Unmask, re-check: the packet is found without sleeping, so no wake-up is lost.
    expect(await host.waitAsync({ packets: true })).toBe(true);
    expect(host.counters.sleeps).toBe(0);
    expect(hostIrq.sequence()).toBe(before);
  });

  it('waitAsync with polling finds a packet written during the poll: no signal, no sleep', async () => {
    const region = ChannelRegion.allocate(8192);
    region.initialize();
    const guestIrq = Doorbell.create();
    const hostIrq = Doorbell.create();
    const guest = new ChannelEndpoint(region, 'guest', { interrupt: guestIrq, signalPeer: () => hostIrq.ring(), spinMicros: 0 });
    const host = new ChannelEndpoint(region, 'host', { interrupt: hostIrq, signalPeer: () => guestIrq.ring(), spinMicros: 0, pollMicros: 200_000 });
    host.drain(() => {}); // masked, as after a batch
    host.haltPoll!.windowUs = 200_000; // as grown by a busy exchange
    const waiting = host.waitAsync({ packets: true });
    // The writer runs on a later turn of the event loop, while the host polls.
    await new Promise((resolve) => setImmediate(resolve));
    guest.outgoing.writeInband(Uint8Array.of(5), 5n);
    expect(guest.flush()).toBe(false); // still masked: no interrupt needed
    expect(await waiting).toBe(true);
    expect(host.counters.sleeps).toBe(0);
    expect(host.counters.pollHits).toBe(1);
    expect(guest.counters.signalsSent).toBe(0);
  });

  it('waitAsync with polling stops polling when its interrupt is rung, and sleeps after the window', async () => {
    const region = ChannelRegion.allocate(8192);
    region.initialize();
    const hostIrq = Doorbell.create();
    const host = new ChannelEndpoint(region, 'host', { interrupt: hostIrq, signalPeer: () => {}, spinMicros: 0, pollMicros: 200_000 });
    host.haltPoll!.windowUs = 200_000;
    const waiting = host.waitAsync({ packets: true });
    await new Promise((resolve) => setImmediate(resolve));
    hostIrq.ring(); // a local owner wakes the loop (to stop it)
    expect(await waiting).toBe(false);
    expect(host.counters.pollHits).toBe(0);
    const quick = new ChannelEndpoint(region, 'host', { interrupt: Doorbell.create(), signalPeer: () => {}, spinMicros: 0, pollMicros: 1 });
    expect(await quick.waitAsync({ packets: true }, 5)).toBe(false); // polled 1 us, slept, timed out
    expect(quick.counters.sleeps).toBe(1);
  });

  it('waitAsync times out on an empty ring', async () => {
    const { host } = channel();
    expect(await host.waitAsync({ packets: true }, 0)).toBe(false);
  });

  it('waiting for space publishes pending_send_sz; the reader that frees it signals', async () => {
    const { region, guest, host, guestIrq } = channel();
    const send = region.ringMemory('send');
    // Fill the send ring (4096 data bytes) with 1000-byte packets (1024-byte footprints).
    let written = 0;
    for (;;) {
      const result = guest.outgoing.writeInband(new Uint8Array(1000), BigInt(written));
      if (!result.ok) {
        expect(result.needed).toBe(1024);
        break;
      }
      written++;
    }
    expect(written).toBe(3); // a fourth would fill the ring exactly, which is not allowed
    // The refused write published pending_send_sz: max(1024, a quarter of the ring).
    expect(send.loadControl(RingControl.pendingSendSize)).toBe(1024);
    guest.flush();

    const waiting = guest.waitAsync({ space: 1024 });
    expect(guest.counters.sleeps).toBe(1);
    expect(guest.outgoing.blocked).toBe(true);

    // The host reads one packet: 2048 free, crossing 1024: it signals the guest.
    const seen: bigint[] = [];
    expect(host.drain(ids(seen), 1)).toBe(1);
    expect(host.counters.signalsSent).toBe(1);
    expect(guestIrq.sequence()).toBe(1);
    expect(await waiting).toBe(true);
    // The space re-check succeeded, which withdraws pending_send_sz.
    expect(send.loadControl(RingControl.pendingSendSize)).toBe(0);
    expect(guest.outgoing.writeInband(new Uint8Array(1000), 99n).ok).toBe(true);
    // Further releases do not signal: the guest no longer waits.
    host.drain(ids(seen));
    expect(host.counters.signalsSent).toBe(1);
    expect(seen).toEqual([0n, 1n, 2n]);
  });

  it('wait({ space }, 0) is false while the ring is full and true when it fits', () => {
    const { guest, host } = channel();
    while (guest.outgoing.writeInband(new Uint8Array(1000), 1n).ok);
    expect(guest.wait({ space: 1024 }, 0)).toBe(false);
    host.drain(() => {}, 1);
    expect(guest.wait({ space: 1024 }, 0)).toBe(true);
  });

  it('spins before sleeping when spinMicros is set and data is already there', () => {
    const { guest, host } = channel(8192, 50);
    guest.outgoing.writeInband(Uint8Array.of(1), 1n);
    guest.flush();
    expect(host.wait({ packets: true }, 0)).toBe(true);
    expect(host.counters.sleeps).toBe(0);
  });
});

describe('Doorbell', () => {
  it('rings by moving the sequence', () => {
    const bell = Doorbell.create();
    expect(bell.sequence()).toBe(0);
    bell.ring();
    bell.ring();
    expect(bell.sequence()).toBe(2);
  });

  it('wait with timeout 0 times out on the current sequence and returns at once on a stale one', () => {
    const bell = Doorbell.create();
    const seen = bell.sequence();
    expect(bell.wait(seen, 0)).toBe('timed-out');
    bell.ring();
    expect(bell.wait(seen, 0)).toBe('rung');
  });

  it('waitAsync times out, resolves at once on a stale sequence, and resolves after ring()', async () => {
    const bell = Doorbell.create();
    expect(await bell.waitAsync(bell.sequence(), 0)).toBe('timed-out');
    const seen = bell.sequence();
    const waiting = bell.waitAsync(seen);
    bell.ring();
    expect(await waiting).toBe('rung');
    expect(await bell.waitAsync(seen)).toBe('rung'); // the sequence already moved
  });

  it('shares a cell with other doorbells by index and rejects an index outside its cells', () => {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const a = new Doorbell(cells, 0);
    const b = new Doorbell(cells, 1);
    b.ring();
    expect([a.sequence(), b.sequence()]).toEqual([0, 1]);
    expect(() => new Doorbell(cells, 2)).toThrow(InvalidArgumentError);
    expect(() => new Doorbell(cells, -1)).toThrow(InvalidArgumentError);
    expect(() => new Doorbell(cells, 0.5)).toThrow(InvalidArgumentError);
  });
});
