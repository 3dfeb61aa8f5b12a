/**
 * What a guest program receives: the devices its kernel found and opened, by kind, and a small
 * view of its own partition. A guest program is a module whose default export is
 * `(guest: GuestApi, args) => result`; the kernel reports the result (or the error) to the root.
 */
import type { EchoClient } from '../drivers/echo/driver.ts';

export interface GuestApi {
  /** This partition's id. */
  readonly partitionId: bigint;
  /** The devices the host offered and the kernel opened. */
  readonly devices: { readonly echo: readonly EchoClient[] };
  /** The negotiated VMBus version (major << 16 | minor). */
  readonly vmbusVersion: number;
}

/** The default export of a guest program module. */
export type GuestProgram = (guest: GuestApi, args: unknown) => unknown;
