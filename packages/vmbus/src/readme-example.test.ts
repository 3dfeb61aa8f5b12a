/**
 * The README's ring-buffer example, run as written, so the README stays true.
 */
import { expect, it } from 'vitest';
import { ChannelEndpoint, ChannelRegion, Doorbell } from './index.ts';

it("runs the README's ring example: a request in, a completion echoed back", async () => {
  const region = ChannelRegion.allocate(64 * 1024 + 4096); // two rings of 60 KiB data each
  region.initialize(); // what the guest does before OPENCHANNEL
  const guestIrq = Doorbell.create(),
    hostIrq = Doorbell.create();
  const guest = new ChannelEndpoint(region, 'guest', { interrupt: guestIrq, signalPeer: () => hostIrq.ring() });
  const host = new ChannelEndpoint(region, 'host', { interrupt: hostIrq, signalPeer: () => guestIrq.ring() });

  expect(guest.outgoing.writeInband(new TextEncoder().encode('hello'), 1n, true)).toEqual({ ok: true });
  expect(guest.flush()).toBe(true); // the host's ring was empty and unmasked: it is signalled
  expect(hostIrq.sequence()).toBe(1);
  expect(await host.waitAsync({ packets: true })).toBe(true);
  const seen: string[] = [];
  host.drain((packet) => {
    seen.push(`${packet.kind} ${packet.transactionId}`);
    if (packet.kind === 'inband') host.outgoing.writeCompletion(packet.payload(), packet.transactionId);
  });
  host.flush();
  expect(seen).toEqual(['inband 1']);

  const echoes: string[] = [];
  guest.drain((packet) => echoes.push(`${packet.kind} ${packet.transactionId} ${new TextDecoder().decode(packet.payload()).replace(/\0+$/, '')}`));
  expect(echoes).toEqual(['completion 1 hello']);
});
