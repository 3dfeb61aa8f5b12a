/**
 * Host-side SynIC of one VP: the synthetic MSRs, the per-SINT message queues, message delivery into
 * the SIM page and event-flag setting in the SIEF page (TLFS 2.0 §14; hyperv-tlfs.md §5).
 *
 * Delivery follows the TLFS: a message waits in its SINT's FIFO queue until the SIM slot is empty
 * (type 0); it is then copied in, the type written last, and the interrupt raised. When the slot is
 * busy the hypervisor sets MessagePending in the slot so the guest writes EOM after emptying it; the
 * guest empties the slot (type = 0) and then reads the flags, while the hypervisor sets the flag and
 * then re-reads the type (both with sequentially consistent atomics), so no message is stranded.
 * Raising the interrupt = OR the SINT bit into the VP page's PENDING_SINTS, increment its
 * INTERRUPT_SEQ and `Atomics.notify` it if a waiter announced itself; a masked SINT gets the message
 * but no interrupt.
 *
 * Everything read from the SIM page is guest-writable and treated so: only the type word is read.
 */
import { HvMessageLayout, MESSAGE_FLAG_PENDING, SINT_COUNT, SintRegister, SiefLayout } from '../abi/synic.ts';
import { PAGE_SIZE, VpPageLayout } from '../abi/vp-page.ts';
import type { GuestMemory } from './guest-memory.ts';
import type { Port } from './ports.ts';

/** A message waiting for its SIM slot (already copied out of the sender). */
export interface QueuedMessage {
  readonly type: number;
  readonly sender: bigint;
  readonly payload: Uint8Array;
  /** The port whose buffer it occupies, released on delivery (undefined for hypervisor messages). */
  readonly port: Port | undefined;
}

export class SynicState {
  scontrol = 0;
  /** SIMP/SIEFP GPFN, or -1 when disabled. */
  simpGpfn = -1;
  siefpGpfn = -1;
  readonly sints = new Uint32Array(SINT_COUNT).fill(SintRegister.RESET);
  readonly queues: QueuedMessage[][] = Array.from({ length: SINT_COUNT }, () => []);
  private readonly page: Int32Array;

  constructor(vpPage: SharedArrayBuffer) {
    this.page = new Int32Array(vpPage, 0, PAGE_SIZE / 4);
  }

  get enabled(): boolean {
    return (this.scontrol & 1) !== 0;
  }

  /** Whether messages can be delivered at all (SynIC and SIMP enabled). */
  get messagesEnabled(): boolean {
    return this.enabled && this.simpGpfn >= 0;
  }

  /** Whether events can be delivered at all (SynIC and SIEFP enabled). */
  get eventsEnabled(): boolean {
    return this.enabled && this.siefpGpfn >= 0;
  }

  masked(sint: number): boolean {
    return (this.sints[sint]! & SintRegister.MASKED) !== 0;
  }

  /** Queues a message and tries to deliver the queue head. */
  enqueue(sint: number, message: QueuedMessage, memory: GuestMemory | undefined): void {
    this.queues[sint]!.push(message);
    this.deliver(sint, memory);
  }

  /** Tries to deliver the head of every SINT queue (EOM, unmask, SIMP enabled). */
  deliverAll(memory: GuestMemory | undefined): void {
    for (let sint = 0; sint < SINT_COUNT; sint++) if (this.queues[sint]!.length > 0) this.deliver(sint, memory);
  }

  /** Tries to deliver the head of one SINT queue into its SIM slot. */
  deliver(sint: number, memory: GuestMemory | undefined): void {
    const queue = this.queues[sint]!;
    if (queue.length === 0 || !memory || !this.messagesEnabled) return;
    const slot = this.simpGpfn * PAGE_SIZE + sint * HvMessageLayout.SIZE;
    if (slot + HvMessageLayout.SIZE > memory.buffer.byteLength) return;
    const words = new Int32Array(memory.buffer, slot, HvMessageLayout.SIZE / 4);
    if (Atomics.load(words, 0) !== 0) {
      Atomics.or(words, 1, MESSAGE_FLAG_PENDING << 8);
      if (Atomics.load(words, 0) !== 0) return;
    }
    const message = queue.shift()!;
    const view = new DataView(memory.buffer, slot, HvMessageLayout.SIZE);
    const flags = queue.length > 0 ? MESSAGE_FLAG_PENDING : 0;
    Atomics.store(words, 1, message.payload.length | (flags << 8));
    view.setBigUint64(HvMessageLayout.SENDER, message.sender, true);
    const bytes = new Uint8Array(memory.buffer, slot + HvMessageLayout.PAYLOAD, HvMessageLayout.PAYLOAD_MAX);
    bytes.set(message.payload);
    bytes.fill(0, message.payload.length);
    Atomics.store(words, 0, message.type | 0);
    if (message.port) message.port.buffersInUse--;
    if (!this.masked(sint)) this.raise(sint);
  }

  /**
   * Sets event flag `flag` of `sint` in the SIEF page; raises the interrupt if it was clear.
   * Unchecked: the caller checked `eventsEnabled`, the mask and the flag range.
   */
  signalUnchecked(sint: number, flag: number, memory: GuestMemory): boolean {
    const base = this.siefpGpfn * PAGE_SIZE + sint * SiefLayout.BYTES_PER_SINT;
    if (base + SiefLayout.BYTES_PER_SINT > memory.buffer.byteLength) return false;
    const words = new Int32Array(memory.buffer, base, SiefLayout.BYTES_PER_SINT / 4);
    const bit = 1 << (flag & 31);
    const before = Atomics.or(words, flag >>> 5, bit);
    if ((before & bit) === 0) this.raise(sint);
    return true;
  }

  /**
   * Re-raises SINT `sint` if it is unmasked and has something waiting (a full SIM slot or a set
   * event flag). Called when a SINT is unmasked: a delivery made while it was masked raised no
   * interrupt, and without this the VP would never learn of it.
   */
  resignal(sint: number, memory: GuestMemory | undefined): void {
    if (!memory || !this.enabled || this.masked(sint)) return;
    let waiting = false;
    if (this.simpGpfn >= 0) {
      const slot = this.simpGpfn * PAGE_SIZE + sint * HvMessageLayout.SIZE;
      waiting = slot + HvMessageLayout.SIZE <= memory.buffer.byteLength && Atomics.load(new Int32Array(memory.buffer, slot, 1), 0) !== 0;
    }
    if (!waiting && this.siefpGpfn >= 0) {
      const base = this.siefpGpfn * PAGE_SIZE + sint * SiefLayout.BYTES_PER_SINT;
      if (base + SiefLayout.BYTES_PER_SINT <= memory.buffer.byteLength) {
        const words = new Int32Array(memory.buffer, base, SiefLayout.BYTES_PER_SINT / 4);
        for (let i = 0; i < words.length && !waiting; i++) waiting = Atomics.load(words, i) !== 0;
      }
    }
    if (waiting) this.raise(sint);
  }

  /** Drops every queued message (VP deleted): frees their port buffers. */
  clearQueues(): void {
    for (const queue of this.queues) {
      for (const message of queue) if (message.port) message.port.buffersInUse--;
      queue.length = 0;
    }
  }

  /** Rings the VP's interrupt doorbell for `sint`. */
  private raise(sint: number): void {
    Atomics.or(this.page, VpPageLayout.PENDING_SINTS >> 2, 1 << sint);
    this.ring();
  }

  /**
   * Rings the doorbell without a SINT: the VP wakes and looks at its page (a changed
   * DIRECT_EVENTS_GENERATION), and finds no SINT pending.
   */
  ring(): void {
    Atomics.add(this.page, VpPageLayout.INTERRUPT_SEQ >> 2, 1);
    // Only a waiter that announced itself needs the notify (vp-page.ts INTERRUPT_WAITERS).
    if (Atomics.load(this.page, VpPageLayout.INTERRUPT_WAITERS >> 2) !== 0) Atomics.notify(this.page, VpPageLayout.INTERRUPT_SEQ >> 2);
  }
}
