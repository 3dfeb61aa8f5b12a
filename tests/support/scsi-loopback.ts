/**
 * The synthetic SCSI controller over the in-process VMBus (`vmbus-loopback.ts`): storvsp serving
 * `controller` in the host, the guest connected, and `open()` making a storvsc channel; plus the
 * data pattern and byte comparison the storage tests share.
 */
import type { ChannelId } from '@viridian/vmbus';
import { storvspDevice, type ScsiController, type StorvspDevice, type StorvspOptions } from '@viridian/root-partition';
import { storvscDriver } from '@viridian/child-partition';
import { vmbusLoopback } from './vmbus-loopback.ts';

/** Options of the storvsp under test (its guest memory and controller are the loopback's). */
export type ScsiLoopbackOptions = Omit<StorvspOptions, 'guestMemory' | 'controller'> & { readonly guestMemoryBytes?: number };

export async function scsiLoopback(controller: ScsiController, options: ScsiLoopbackOptions = {}) {
  const { guestMemoryBytes, ...storvsp } = options;
  const { memory, pages, host, guest } = vmbusLoopback({ guestMemoryBytes: guestMemoryBytes ?? 32 * 1024 * 1024 });
  const device: StorvspDevice = storvspDevice({ guestMemory: memory, controller, ...storvsp });
  const id: ChannelId = host.addDevice(device);
  await guest.connect();
  const driver = storvscDriver({ memory, pages });
  const open = () => guest.openChannel(id, driver.rings);
  return { memory, pages, host, guest, device, id, driver, open };
}

/** A data pattern that differs per block and per seed. */
export function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + seed * 7 + (i >> 9)) & 0xff;
  return bytes;
}

/** Byte equality without a deep-equality walk over megabytes. */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
