/**
 * An in-process VMBus: the root's `VmbusHost` and a guest's `VmbusGuest` joined by direct
 * transports (each message and signal delivered on a later microtask, as an interrupt would be),
 * over one guest memory. The real rings, the real control-plane state machines and the real VSP
 * and VSC code run; only the hypervisor's SynIC is replaced by function calls.
 *
 * Sub-channels: with `subChannelPaths`, the host transport gives each sub-channel its own
 * connection (as the root kernel does), routed like the hypervisor's connections; without it they
 * signal on their primary's connection.
 */
import { pino } from 'pino';
import { GuestPageAllocator, type ChannelId, type VmbusVersion } from '@viridian/vmbus';
import { VmbusHost, type HostTransport, type VmbusDevice } from '@viridian/root-partition';
import { VmbusGuest } from '@viridian/child-partition';

export interface LoopbackOptions {
  readonly devices?: readonly VmbusDevice[];
  readonly guestMemoryBytes?: number;
  readonly hostMaxVersion?: VmbusVersion;
  readonly guestMaxVersion?: VmbusVersion;
  readonly vpCount?: number;
  /** Give each sub-channel its own connection (`connectSubChannel`) and release paths (`releaseChannel`), recorded in `subChannelPaths`. */
  readonly subChannelPaths?: boolean;
}

export interface Loopback {
  readonly host: VmbusHost;
  readonly guest: VmbusGuest;
  readonly memory: SharedArrayBuffer;
  /** The guest's page allocator (rings and driver buffers). */
  readonly pages: GuestPageAllocator;
  readonly channels: ChannelId[];
  /** Messages the guest posted, raw (for hostile-guest tests to replay or corrupt). */
  readonly guestMessages: Uint8Array[];
  /** The message types the host posted, in order. */
  readonly hostMessageTypes: number[];
  /** Sub-channel interrupt paths the host transport made and removed (with `subChannelPaths`). */
  readonly subChannelPaths: { readonly connected: ChannelId[]; readonly released: { channel: ChannelId; connectionId: number }[] };
}

export function vmbusLoopback(options: LoopbackOptions = {}): Loopback {
  const memory = new SharedArrayBuffer(options.guestMemoryBytes ?? 16 * 1024 * 1024);
  const pages = new GuestPageAllocator(memory.byteLength / 4096, 16);
  const guestMessages: Uint8Array[] = [];
  const hostMessageTypes: number[] = [];
  const subChannelPaths = { connected: [] as ChannelId[], released: [] as { channel: ChannelId; connectionId: number }[] };
  /** Connection id → channel, as the hypervisor's connections route a guest's signal. */
  const routes = new Map<number, ChannelId>();
  const transport: HostTransport = {
    postMessage: (bytes) => {
      const copy = bytes.slice();
      hostMessageTypes.push(new DataView(copy.buffer).getUint32(0, true));
      queueMicrotask(() => guest.handleMessage(copy));
      return true;
    },
    signalChannel: (id) => queueMicrotask(() => guest.handleSignal(id)),
    ...(options.subChannelPaths
      ? {
          connectSubChannel: (channel: ChannelId, connectionId: number) => {
            subChannelPaths.connected.push(channel);
            routes.set(connectionId, channel);
          },
          releaseChannel: (channel: ChannelId, connectionId: number) => {
            subChannelPaths.released.push({ channel, connectionId });
            routes.delete(connectionId);
          },
        }
      : {}),
  };
  const host: VmbusHost = new VmbusHost({
    transport,
    guestMemory: memory,
    logger: pino({ level: 'silent' }),
    ...(options.vpCount === undefined ? {} : { vpCount: options.vpCount }),
    ...(options.hostMaxVersion === undefined ? {} : { maxVersion: options.hostMaxVersion }),
  });
  const guest: VmbusGuest = new VmbusGuest({
    transport: {
      postMessage: (bytes) => {
        const copy = bytes.slice();
        guestMessages.push(copy);
        queueMicrotask(() => host.handleMessage(copy));
        return 'ok';
      },
      signalHost: (connectionId) => queueMicrotask(() => host.handleSignal(routes.get(connectionId) ?? VmbusHost.channelOfConnection(connectionId))),
    },
    memory,
    pages,
    ...(options.guestMaxVersion === undefined ? {} : { maxVersion: options.guestMaxVersion }),
  });
  const channels = (options.devices ?? []).map((device) => host.addDevice(device));
  return { host, guest, memory, pages, channels, guestMessages, hostMessageTypes, subChannelPaths };
}
