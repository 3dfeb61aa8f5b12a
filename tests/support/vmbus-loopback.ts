/**
 * An in-process VMBus: the root's `VmbusHost` and a guest's `VmbusGuest` joined by direct
 * transports (each message and signal delivered on a later microtask, as an interrupt would be),
 * over one guest memory. The real rings, the real control-plane state machines and the real VSP
 * and VSC code run; only the hypervisor's SynIC is replaced by function calls.
 */
import { pino } from 'pino';
import { GuestPageAllocator, type ChannelId, type VmbusVersion } from '@viridian/vmbus';
import { VmbusHost, type VmbusDevice } from '@viridian/root-partition';
import { VmbusGuest } from '@viridian/child-partition';

export interface LoopbackOptions {
  readonly devices?: readonly VmbusDevice[];
  readonly guestMemoryBytes?: number;
  readonly hostMaxVersion?: VmbusVersion;
  readonly guestMaxVersion?: VmbusVersion;
}

export interface Loopback {
  readonly host: VmbusHost;
  readonly guest: VmbusGuest;
  readonly memory: SharedArrayBuffer;
  readonly channels: ChannelId[];
  /** Messages the guest posted, raw (for hostile-guest tests to replay or corrupt). */
  readonly guestMessages: Uint8Array[];
}

export function vmbusLoopback(options: LoopbackOptions = {}): Loopback {
  const memory = new SharedArrayBuffer(options.guestMemoryBytes ?? 16 * 1024 * 1024);
  const guestMessages: Uint8Array[] = [];
  const host: VmbusHost = new VmbusHost({
    transport: {
      postMessage: (bytes) => {
        const copy = bytes.slice();
        queueMicrotask(() => guest.handleMessage(copy));
        return true;
      },
      signalChannel: (id) => queueMicrotask(() => guest.handleSignal(id)),
    },
    guestMemory: memory,
    logger: pino({ level: 'silent' }),
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
      signalHost: (connectionId) => queueMicrotask(() => host.handleSignal(VmbusHost.channelOfConnection(connectionId))),
    },
    memory,
    pages: new GuestPageAllocator(memory.byteLength / 4096, 16),
    ...(options.guestMaxVersion === undefined ? {} : { maxVersion: options.guestMaxVersion }),
  });
  const channels = (options.devices ?? []).map((device) => host.addDevice(device));
  return { host, guest, memory, channels, guestMessages };
}
