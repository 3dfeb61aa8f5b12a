/**
 * A guest program: echoes `count` requests of mixed sizes through every echo device the host gave
 * it, `inFlight` at a time, checks every reply, and returns what it did.
 */
import type { GuestApi } from '@viridian/child-partition';

export default async function echoGuest(guest: GuestApi, args: { count?: number; inFlight?: number } | null) {
  const count = args?.count ?? 1000;
  const inFlight = args?.inFlight ?? 8;
  let bytes = 0;
  const started = performance.now();
  for (const device of guest.devices.echo) {
    let next = 0;
    const lane = async () => {
      while (next < count) {
        const i = next++;
        const payload = Uint8Array.from({ length: 1 + ((i * 37) % 1500) }, (_, j) => (i + j) & 0xff);
        const reply = await device.echo(payload);
        if (reply.length !== payload.length || reply.some((b, j) => b !== payload[j])) throw new Error(`echo ${i} came back different`);
        bytes += payload.length;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
  }
  return { devices: guest.devices.echo.length, requests: count * guest.devices.echo.length, bytes, ms: Math.round(performance.now() - started), vmbusVersion: guest.vmbusVersion };
}
