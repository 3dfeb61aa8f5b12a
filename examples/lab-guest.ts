/**
 * The lab's guest program: echoes requests through its echo device (checking every reply), then
 * writes a pattern across its VHDX disk with many requests in flight, flushes, reads it all back
 * and verifies it. Returns what it did.
 */
import type { GuestApi } from '@viridian/child-partition';
import echoGuest from './echo-guest.ts';

export default async function labGuest(guest: GuestApi, args: { count?: number; inFlight?: number; diskBlocks?: number } | null) {
  const echo = await echoGuest(guest, args);
  const disks = [];
  for (const disk of guest.disks) {
    const blocks = Math.min(args?.diskBlocks ?? 512, Math.floor(disk.capacity / 4096));
    const block = (i: number): Uint8Array => Uint8Array.from({ length: 4096 }, (_, j) => (i * 7 + j + Number(guest.partitionId)) & 0xff);
    const started = performance.now();
    await Promise.all(Array.from({ length: blocks }, (_, i) => disk.write(i * 4096, block(i))));
    await disk.flush();
    const back = await Promise.all(Array.from({ length: blocks }, (_, i) => disk.read(i * 4096, 4096)));
    const verified = back.every((data, i) => Buffer.from(data).equals(Buffer.from(block(i))));
    disks.push({ lun: disk.lun, capacityMiB: disk.capacity / 1024 / 1024, written: blocks * 4096, flushed: true, verified, ms: Math.round(performance.now() - started) });
  }
  return { echo, disks };
}
