/**
 * The VSP and VSC frameworks end to end in one thread: the echo VSP in the root's VMBus host, the
 * echo VSC in a guest's VMBus, real rings in guest memory, real control-plane state machines.
 */
import { describe, expect, it } from 'vitest';
import { firstValueFrom, filter, toArray, take } from 'rxjs';
import { EchoProtocol, VmbusVersions, encodeChannelMessage, ChannelMessageType, RingControl, type ChannelId } from '@viridian/vmbus';
import { echoDevice } from '@viridian/root-partition';
import { EchoClient, GuestChannelClosedError, VmbusOperationError, echoDriver } from '@viridian/child-partition';
import { vmbusLoopback } from './support/vmbus-loopback.ts';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('VMBus loopback: echo VSP and VSC', () => {
  it('connects, sees the offer, opens the channel and echoes 2,000 requests with 32 in flight', async () => {
    const device = echoDevice();
    const { guest, host, channels } = vmbusLoopback({ devices: [device] });
    const { offers } = await guest.connect();
    expect(offers.map((o) => o.interfaceType)).toEqual([EchoProtocol.classId]);
    const channel = await guest.openChannel(channels[0]!, echoDriver.rings);
    const echo = new EchoClient(channel);
    let next = 0;
    const worker = async () => {
      while (next < 2000) {
        const i = next++;
        const payload = bytes(1 + (i % 700), i);
        expect(await echo.echo(payload)).toEqual(payload);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    expect(device.metrics.requests).toBe(2000);
    expect(host.channel(channels[0]!)!.counters.packets).toBe(2000);
    await guest.closeChannel(channel);
  });

  it('closes and reopens a channel, and the echo works again', async () => {
    const { guest, channels } = vmbusLoopback({ devices: [echoDevice()] });
    await guest.connect();
    for (let round = 0; round < 3; round++) {
      const channel = await guest.openChannel(channels[0]!, echoDriver.rings);
      expect(await new EchoClient(channel).echo(bytes(100, round))).toEqual(bytes(100, round));
      await guest.closeChannel(channel);
    }
  });

  it('falls back to an older version when the host is limited to it', async () => {
    const { guest, channels } = vmbusLoopback({ devices: [echoDevice()], hostMaxVersion: VmbusVersions.win10 });
    const { version } = await guest.connect();
    expect(version).toBe(VmbusVersions.win10);
    const channel = await guest.openChannel(channels[0]!, echoDriver.rings);
    expect(await new EchoClient(channel).echo(bytes(8, 1))).toEqual(bytes(8, 1));
  });

  it('hot-adds a device while the guest runs, and rescinds it while requests are in flight', async () => {
    const { guest, host } = vmbusLoopback();
    await guest.connect();
    const added = firstValueFrom(guest.offerChanges$);
    const id = host.addDevice(echoDevice());
    expect(await added).toMatchObject({ kind: 'added', offer: { childRelid: id } });
    const channel = await guest.openChannel(id, echoDriver.rings);
    const echo = new EchoClient(channel);
    expect(await echo.echo(bytes(16, 3))).toEqual(bytes(16, 3));
    const rescinded = firstValueFrom(guest.offerChanges$);
    await host.removeDevice(id);
    expect(await rescinded).toEqual({ kind: 'rescinded', channel: id });
    await guest.closeChannel(channel);
    await expect(channel.request(bytes(4, 4))).rejects.toBeInstanceOf(GuestChannelClosedError);
    const released = firstValueFrom(host.events$.pipe(filter((e) => e.kind === 'channelReleased')));
    guest.release(id);
    expect(await released).toEqual({ kind: 'channelReleased', channel: id });
  });

  it('keeps requests in call order when senders must wait for ring space', async () => {
    const { guest, host, channels } = vmbusLoopback({ devices: [echoDevice()] });
    await guest.connect();
    const channel = await guest.openChannel(channels[0]!, { sendRingBytes: 8192, receiveRingBytes: 64 * 1024 + 4096 });
    const seen: bigint[] = [];
    const echo = new EchoClient(channel);
    const subscription = host.channel(channels[0]!)!.received$.subscribe((p) => seen.push(p.transactionId));
    // 100 requests of 1 KiB through a 4 KiB ring: most of them queue for space.
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => echo.echo(bytes(1024, i))));
    subscription.unsubscribe();
    replies.forEach((reply, i) => expect(reply).toEqual(bytes(1024, i)));
    expect(seen).toEqual([...seen].sort((a, b) => (a < b ? -1 : 1)));
    expect(seen).toHaveLength(100);
  });

  it('opens 64 channels on one connection and echoes on all of them', async () => {
    const devices = Array.from({ length: 64 }, () => echoDevice());
    const { guest, channels } = vmbusLoopback({ devices, guestMemoryBytes: 64 * 1024 * 1024 });
    await guest.connect();
    const opened = await Promise.all(channels.map((id) => guest.openChannel(id, { sendRingBytes: 8192, receiveRingBytes: 8192 })));
    const echoes = await Promise.all(opened.map((channel, i) => new EchoClient(channel).echo(bytes(32, i))));
    echoes.forEach((echo, i) => expect(echo).toEqual(bytes(32, i)));
    expect(devices.every((d) => d.metrics.requests === 1)).toBe(true);
  });
});

describe('VMBus loopback: a hostile guest', () => {
  it('gets protocol errors, not a crash, for malformed and misplaced messages, and good traffic goes on', async () => {
    const device = echoDevice();
    const { guest, host, channels } = vmbusLoopback({ devices: [device] });
    await guest.connect();
    const channel = await guest.openChannel(channels[0]!, echoDriver.rings);
    const errors = firstValueFrom(host.events$.pipe(filter((e) => e.kind === 'protocolError'), take(5), toArray()));
    host.handleMessage(new Uint8Array(3)); // too short
    host.handleMessage(new Uint8Array(300)); // oversize
    host.handleMessage(Uint8Array.of(0xff, 0, 0, 0, 0, 0, 0, 0)); // unknown type
    host.handleMessage(encodeChannelMessage({ type: ChannelMessageType.allOffersDelivered })); // host-to-guest type
    host.handleMessage(encodeChannelMessage({ type: ChannelMessageType.closeChannel, childRelid: 999 as ChannelId })); // unknown channel
    expect((await errors).map((e) => e.kind === 'protocolError' && e.reason)).toEqual(['too-short', 'oversize', 'unknown-type', 'wrong-direction', 'unknown-channel']);
    expect(await new EchoClient(channel).echo(bytes(64, 9))).toEqual(bytes(64, 9));
  });

  it('stops serving a channel whose ring the guest corrupts, and only that channel', async () => {
    const { guest, host, channels, memory } = vmbusLoopback({ devices: [echoDevice(), echoDevice()] });
    await guest.connect();
    const bad = await guest.openChannel(channels[0]!, echoDriver.rings);
    const good = await guest.openChannel(channels[1]!, echoDriver.rings);
    // Scribble an out-of-range write_index into the bad channel's send ring and signal the host.
    const control = new Int32Array(memory, bad.ringPages.firstPfn * 4096, 1024);
    Atomics.store(control, RingControl.writeIndex / 4, 12345);
    host.handleSignal(channels[0]!);
    await host.channel(channels[0]!)!.serviceEnded;
    expect(host.channel(channels[0]!)!.counters.corruptions).toBe(1);
    expect(await new EchoClient(good).echo(bytes(10, 2))).toEqual(bytes(10, 2));
  });

  it('refuses a GPADL that names pages beyond guest memory', async () => {
    const { guest, channels } = vmbusLoopback({ devices: [echoDevice()], guestMemoryBytes: 1024 * 1024 });
    await guest.connect();
    // Rings larger than the guest's memory cannot even be allocated by an honest guest…
    await expect(guest.openChannel(channels[0]!, { sendRingBytes: 1024 * 1024, receiveRingBytes: 1024 * 1024 })).rejects.toThrow();
    // …and a hostile GPADL naming pages past the end is refused by the host.
    const gpadlId = guest.client.createGpadl(channels[0]!, { byteOffset: 0, byteCount: 2 * 4096, pfns: [10, 1_000_000] });
    const created = await firstValueFrom(guest.events$.pipe(filter((e) => e.kind === 'gpadlCreated' && e.gpadlId === gpadlId)));
    expect(created).toMatchObject({ kind: 'gpadlCreated' });
    expect(created.kind === 'gpadlCreated' && created.status).not.toBe(0);
    expect(VmbusOperationError).toBeDefined();
  });
});
