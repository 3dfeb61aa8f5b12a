/**
 * The guest side of the SynIC (TLFS 2.0 §14; vmbus-wire.md §5): enabling SCONTROL/SIMP/SIEFP,
 * configuring SINTs, taking messages from SIM slots (with end-of-message), and taking event flags
 * from the SIEF page.
 *
 * Taking a message follows the Linux order: copy the slot out, store type = 0 (sequentially
 * consistent), then read the flags and write EOM only if MessagePending was set, so the hypervisor
 * delivers the next queued message. Event flags are taken with `Atomics.exchange` per 32-bit word.
 */
import { HvStatus } from '../abi/status.ts';
import { HvMessageLayout, HvSynicMsr, MESSAGE_FLAG_PENDING, SINT_COUNT, SiefLayout, SintRegister, SYNIC_ENABLE } from '../abi/synic.ts';
import { PAGE_SIZE } from '../abi/vp-page.ts';
import type { VpExits } from './vp-exits.ts';

/** A message copied out of a SIM slot. */
export interface HvMessage {
  readonly sint: number;
  readonly type: number;
  readonly flags: number;
  /** Sender partition id (hypervisor messages) or port id (port messages). */
  readonly sender: bigint;
  /** A private copy of the payload (`payloadSize` bytes, at most 240). */
  readonly payload: Uint8Array;
}

/** Where the guest places its SynIC pages (page numbers of mapped pages of its own memory). */
export interface SynicPlacement {
  readonly simpGpfn: number;
  readonly siefpGpfn: number;
}

export class SynicClient {
  private simp = -1;
  private siefp = -1;
  /** Per SINT, a view of its 256 bytes of the SIEF page (made once per placement). */
  private siefViews: (Int32Array | undefined)[] = [];

  constructor(
    private readonly memory: SharedArrayBuffer,
    private readonly exits: VpExits,
  ) {}

  /** Enables the SynIC with its message and event pages; returns the first failing status. */
  enable(placement: SynicPlacement): number {
    const e = this.exits;
    let status = e.writeMsr(HvSynicMsr.Simp, ((placement.simpGpfn % 0x10_0000) * PAGE_SIZE + SYNIC_ENABLE) >>> 0, Math.floor(placement.simpGpfn / 0x10_0000));
    if (status !== HvStatus.SUCCESS) return status;
    status = e.writeMsr(HvSynicMsr.Siefp, ((placement.siefpGpfn % 0x10_0000) * PAGE_SIZE + SYNIC_ENABLE) >>> 0, Math.floor(placement.siefpGpfn / 0x10_0000));
    if (status !== HvStatus.SUCCESS) return status;
    this.simp = placement.simpGpfn;
    this.siefp = placement.siefpGpfn;
    this.siefViews = [];
    return e.writeMsr(HvSynicMsr.Scontrol, 1);
  }

  /** Unmasks (or masks) SINT `sint` with `vector` (16-255; Viridian does not use vectors). */
  configureSint(sint: number, options: { masked?: boolean; vector?: number } = {}): number {
    if (sint < 0 || sint >= SINT_COUNT) return HvStatus.INVALID_PARAMETER;
    const value = (options.vector ?? 0x30) | (options.masked ? SintRegister.MASKED : 0);
    return this.exits.writeMsr(HvSynicMsr.Sint0 + sint, value);
  }

  /** Takes the message in SINT `sint`'s slot, if any (and writes EOM when another is pending). */
  takeMessage(sint: number): HvMessage | undefined {
    if (this.simp < 0 || sint < 0 || sint >= SINT_COUNT) return undefined;
    const slot = this.simp * PAGE_SIZE + sint * HvMessageLayout.SIZE;
    const words = new Int32Array(this.memory, slot, HvMessageLayout.SIZE / 4);
    const type = Atomics.load(words, 0) >>> 0;
    if (type === 0) return undefined;
    const view = new DataView(this.memory, slot, HvMessageLayout.SIZE);
    const size = Math.min(view.getUint8(HvMessageLayout.PAYLOAD_SIZE), HvMessageLayout.PAYLOAD_MAX);
    const sender = view.getBigUint64(HvMessageLayout.SENDER, true);
    const payload = new Uint8Array(this.memory, slot + HvMessageLayout.PAYLOAD, size).slice();
    Atomics.store(words, 0, 0);
    const flags = (Atomics.load(words, 1) >>> 8) & 0xff;
    if ((flags & MESSAGE_FLAG_PENDING) !== 0) this.exits.writeMsr(HvSynicMsr.Eom, 0);
    return { sint, type, flags, sender, payload };
  }

  /**
   * Sets event flags of SINT `sint` in this VP's own SIEF page: bit n of `bits` is flag
   * `firstFlag + n` (direct event cells deliver this way; the hypervisor does the same for a
   * SignalEvent hypercall).
   */
  setEventFlags(sint: number, firstFlag: number, bits: number): void {
    const words = this.sief(sint);
    if (!words) return;
    while (bits !== 0) {
      const bit = 31 - Math.clz32(bits);
      bits &= ~(1 << bit);
      const flag = firstFlag + bit;
      if (flag < SiefLayout.FLAGS_PER_SINT) Atomics.or(words, flag >>> 5, 1 << (flag & 31));
    }
  }

  /**
   * Takes (test-and-clears) every set event flag of SINT `sint`, calling `visit` for each flag
   * number; returns how many were set.
   */
  takeEventFlags(sint: number, visit: (flag: number) => void): number {
    const words = this.sief(sint);
    if (!words) return 0;
    let count = 0;
    for (let w = 0; w < words.length; w++) {
      if (Atomics.load(words, w) === 0) continue;
      let bits = Atomics.exchange(words, w, 0);
      while (bits !== 0) {
        const bit = 31 - Math.clz32(bits);
        bits &= ~(1 << bit);
        count++;
        visit(w * 32 + bit);
      }
    }
    return count;
  }

  /** SINT `sint`'s flags in the SIEF page, or undefined when the page is not placed. */
  private sief(sint: number): Int32Array | undefined {
    if (this.siefp < 0 || sint < 0 || sint >= SINT_COUNT) return undefined;
    return (this.siefViews[sint] ??= new Int32Array(this.memory, this.siefp * PAGE_SIZE + sint * SiefLayout.BYTES_PER_SINT, SiefLayout.BYTES_PER_SINT / 4));
  }
}
