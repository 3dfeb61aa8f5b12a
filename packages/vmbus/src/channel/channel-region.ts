/**
 * The memory of one channel's rings, laid out as a VMBus channel's GPADL holds them
 * (vmbus-wire.md §1.1): the guest-to-host ("send") ring first, then the host-to-guest ("receive")
 * ring starting `downstreamPageOffset` 4 KiB pages in, the number OPENCHANNEL carries. Each ring is
 * one control page plus whole data pages.
 */
import { RingGeometryError } from '../errors.ts';
import { PAGE_SIZE, RingControl, RingFeature } from '../protocol/ring-layout.ts';
import { ContiguousRingMemory, type RingMemory } from '../ring/ring-memory.ts';

/** Which end of the channel a party holds: the guest (VSC) writes the send ring. */
export type ChannelSide = 'guest' | 'host';

/**
 * Where a channel's two rings live: `send` is guest-to-host, `receive` host-to-guest. A
 * {@link ChannelRegion} is one contiguous buffer; a GPADL's pages may be scattered.
 */
export interface ChannelRings {
  ringMemory(ring: 'send' | 'receive'): RingMemory;
}

/** A channel's ring pair inside a buffer. */
export class ChannelRegion implements ChannelRings {
  /**
   * @param buffer memory holding both rings (shared between the two parties)
   * @param byteOffset where the send ring starts (a page boundary)
   * @param sendRingSize bytes of the guest-to-host ring, header page included
   * @param receiveRingSize bytes of the host-to-guest ring, header page included
   * @throws {RingGeometryError} when the rings are not whole pages inside the buffer
   */
  constructor(
    readonly buffer: ArrayBufferLike,
    readonly byteOffset: number,
    readonly sendRingSize: number,
    readonly receiveRingSize: number,
  ) {
    // Constructing the memories validates both rings' geometry.
    this.ringMemory('send');
    this.ringMemory('receive');
  }

  /**
   * A region in a fresh `SharedArrayBuffer`.
   * @throws {RingGeometryError}
   */
  static allocate(sendRingSize: number, receiveRingSize = sendRingSize): ChannelRegion {
    const total = sendRingSize + receiveRingSize;
    if (!Number.isSafeInteger(total) || total <= 0) throw new RingGeometryError(`ring sizes ${sendRingSize} + ${receiveRingSize}`);
    return new ChannelRegion(new SharedArrayBuffer(total), 0, sendRingSize, receiveRingSize);
  }

  /**
   * The region OPENCHANNEL describes: a GPADL buffer and the receive ring's page offset in it.
   * @throws {RingGeometryError}
   */
  static fromOpenChannel(buffer: ArrayBufferLike, byteOffset: number, totalSize: number, downstreamPageOffset: number): ChannelRegion {
    const sendRingSize = downstreamPageOffset * PAGE_SIZE;
    return new ChannelRegion(buffer, byteOffset, sendRingSize, totalSize - sendRingSize);
  }

  /** OPENCHANNEL's `downstream_ringbuffer_pageoffset`: the send ring's size in pages. */
  get downstreamPageOffset(): number {
    return this.sendRingSize / PAGE_SIZE;
  }

  get totalSize(): number {
    return this.sendRingSize + this.receiveRingSize;
  }

  /** The memory of one ring: `send` is guest-to-host, `receive` host-to-guest. */
  ringMemory(ring: 'send' | 'receive'): ContiguousRingMemory {
    return ring === 'send'
      ? new ContiguousRingMemory(this.buffer, this.byteOffset, this.sendRingSize)
      : new ContiguousRingMemory(this.buffer, this.byteOffset + this.sendRingSize, this.receiveRingSize);
  }

  /**
   * What the guest does before OPENCHANNEL (§1.1): clears both control pages and sets
   * `feat_pending_send_sz` in both.
   */
  initialize(): void {
    for (const ring of ['send', 'receive'] as const) {
      const memory = this.ringMemory(ring);
      memory.clearControl();
      memory.storeControl(RingControl.featureBits, RingFeature.pendingSendSize);
    }
  }
}
