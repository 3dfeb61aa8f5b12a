/**
 * VmbusHost against a scripted guest (raw channel messages in, posted messages recorded): the
 * guest's memory grows while it runs (hot add: the hypervisor grows the growable buffer) and the
 * host checks GPADL PFNs against the memory the guest has now; and what a device gets when it asks
 * for sub-channels at the wrong time.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  ChannelMessageType as T,
  ChannelStateError,
  ChannelStatus,
  EchoProtocol,
  InvalidArgumentError,
  decodeChannelMessage,
  encodeChannelMessage,
  splitGpadl,
  type ChannelId,
  type ChannelMessage,
  type GpadlId,
} from '@viridian/vmbus';
import type { VmbusDevice } from './vmbus-device.ts';
import { CHANNEL_CONNECTION_BASE, VmbusHost } from './vmbus-host.ts';

const PAGE = 4096;

function scriptedHost(memory: SharedArrayBuffer, isPageMapped?: (pfn: number) => boolean) {
  const posted: ChannelMessage[] = [];
  const host = new VmbusHost({
    transport: {
      postMessage: (bytes) => {
        const decoded = decodeChannelMessage(bytes);
        if (decoded.ok) posted.push(decoded.message);
        return true;
      },
      signalChannel: () => {},
    },
    guestMemory: memory,
    logger: pino({ level: 'silent' }),
    ...(isPageMapped === undefined ? {} : { isPageMapped }),
  });
  const device: VmbusDevice = {
    name: 'echo',
    offer: { interfaceType: EchoProtocol.classId, interfaceInstance: EchoProtocol.classId },
    open: () => ({ onPacket: () => {} }),
  };
  const id = host.addDevice(device);
  const send = (m: ChannelMessage) => host.handleMessage(encodeChannelMessage(m));
  send({ type: T.initiateContact, versionRequested: 0x50003, targetVcpu: 0, target: { kind: 'sint', messageSint: 2, messageVtl: 0, featureFlags: 0 }, monitorPage1: 0, monitorPage2: 0 });
  send({ type: T.requestOffers });
  posted.length = 0;
  return { host, id, posted, send };
}

function gpadl(send: (m: ChannelMessage) => void, channel: ChannelId, id: number, firstPfn: number, pages: number): void {
  for (const m of splitGpadl(channel, id as GpadlId, { byteCount: pages * PAGE, byteOffset: 0, pfns: Array.from({ length: pages }, (_, i) => firstPfn + i) })) send(m);
}

describe('VmbusHost and guest memory hot add', () => {
  it('checks GPADL PFNs against the memory the guest has now, not at boot', () => {
    const memory = new SharedArrayBuffer(64 * PAGE, { maxByteLength: 256 * PAGE });
    const { host, id, posted, send } = scriptedHost(memory);
    gpadl(send, id, 1, 60, 8); // pages 60..67: beyond 64
    expect(posted).toEqual([{ type: T.gpadlCreated, childRelid: id, gpadlId: 1, status: ChannelStatus.unsuccessful }]);
    expect(host.server.metrics.errorsByReason['pfn-beyond-memory']).toBe(1);
    memory.grow(128 * PAGE); // hot add
    posted.length = 0;
    gpadl(send, id, 2, 60, 8);
    expect(posted).toEqual([{ type: T.gpadlCreated, childRelid: id, gpadlId: 2, status: ChannelStatus.success }]);
    posted.length = 0;
    gpadl(send, id, 3, 120, 16); // 120..135: beyond 128 still
    expect(posted).toEqual([{ type: T.gpadlCreated, childRelid: id, gpadlId: 3, status: ChannelStatus.unsuccessful }]);
  });
});

describe('VmbusHost and holes in guest memory', () => {
  it('refuses GPADL pages the memory map says are not mapped, when it is given one', () => {
    const memory = new SharedArrayBuffer(64 * PAGE);
    const hole = new Set([30, 31]);
    const { host, id, posted, send } = scriptedHost(memory, (pfn) => !hole.has(pfn));
    gpadl(send, id, 1, 28, 4);
    gpadl(send, id, 2, 32, 4);
    expect(posted.map((m) => m.type === T.gpadlCreated && [m.gpadlId, m.status])).toEqual([
      [1, ChannelStatus.unsuccessful],
      [2, ChannelStatus.success],
    ]);
    expect(host.server.metrics.errorsByReason['pfn-not-mapped']).toBe(1);
  });
});

describe('VmbusHost sub-channels', () => {
  it('refuses a device that asks for sub-channels of a channel that is not open, or for a bad count', async () => {
    const memory = new SharedArrayBuffer(64 * PAGE);
    const { host, id, posted, send } = scriptedHost(memory);
    expect(() => host.offerSubChannels(id, 1)).toThrow(ChannelStateError);
    expect(() => host.offerSubChannels(999 as ChannelId, 1)).toThrow(ChannelStateError);
    gpadl(send, id, 1, 20, 4);
    send({ type: T.openChannel, childRelid: id, openId: id, ringBufferGpadlId: 1 as GpadlId, targetVp: 0, downstreamRingBufferPageOffset: 2, userData: new Uint8Array(120) });
    await expect.poll(() => host.channel(id)).toBeDefined();
    for (const bad of [0, -1, 1.5, 65]) expect(() => host.offerSubChannels(id, bad)).toThrow(InvalidArgumentError);
    posted.length = 0;
    host.offerSubChannels(id, 2);
    // No transport wiring per sub-channel: their offers name the primary's connection.
    const offers = posted.filter((m) => m.type === T.offerChannel);
    expect(offers.map((o) => [o.subChannelIndex, o.connectionId])).toEqual([
      [1, CHANNEL_CONNECTION_BASE + id],
      [2, CHANNEL_CONNECTION_BASE + id],
    ]);
    expect(() => host.offerSubChannels(id, 63)).toThrow(InvalidArgumentError);
    expect(() => host.offerSubChannels(offers[0]!.childRelid, 1)).toThrow(ChannelStateError);
    expect(host.server.subChannels(id)).toHaveLength(2);
  });
});
