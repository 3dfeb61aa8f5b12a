/**
 * storvsc's queues: the primary channel and its sub-channels (vmbus-wire.md §8.1; Linux
 * `handle_multichannel_storage`, `get_og_chn`). After END_INITIALIZATION, when QUERY_PROPERTIES
 * announced multi-channel support, {@link requestSubChannels} sends CREATE_SUB_CHANNELS for
 * min(wanted, `max_channel_count`, {@link MAX_STORVSC_SUB_CHANNELS}) and waits until the guest's
 * VMBus has opened that many (the VSP offers them; the VMBus opens a sub-channel of an open primary
 * with the primary's ring sizes). A VSP that refuses leaves the controller with its one queue, as
 * Linux does. {@link StorvscQueues.pick} then spreads SRBs: the open queue with the fewest requests
 * in flight, ties going round-robin, so every ring and every VSP channel budget is used.
 */
import { ChannelPropertyFlags, VstorFlags, VstorOperation, VstorPacket, VstorStatus, encodeSubChannelCount, vstorPacket, type ChannelPropertiesFields } from '@viridian/vmbus';
import type { GuestChannel } from '../../vmbus/guest-channel.ts';

/** Sub-channels a controller asks for at most (Linux: one per online CPU but the first). */
export const MAX_STORVSC_SUB_CHANNELS = 15;

/** Multi-queue options of a controller. */
export interface StorvscQueueOptions {
  /**
   * Sub-channels to ask for (default: as many as the VSP announces, at most
   * {@link MAX_STORVSC_SUB_CHANNELS}); 0 keeps one queue.
   */
  readonly subChannels?: number;
}

/**
 * Asks the VSP for sub-channels on the initialized primary `channel` and resolves with how many
 * are open (0 when the VSP does not announce or refuses multi-channel).
 * @throws {GuestChannelClosedError} when the primary closes first
 */
export async function requestSubChannels(channel: GuestChannel, properties: ChannelPropertiesFields, options: StorvscQueueOptions = {}): Promise<number> {
  if ((properties.flags & ChannelPropertyFlags.supportsMultiChannel) === 0) return 0;
  const wanted = options.subChannels ?? MAX_STORVSC_SUB_CHANNELS;
  const count = Math.max(0, Math.min(Math.trunc(wanted), properties.maxChannelCount, MAX_STORVSC_SUB_CHANNELS));
  if (count === 0) return 0;
  const packet = vstorPacket(VstorOperation.createSubChannels, VstorFlags.requestCompletion);
  encodeSubChannelCount(packet, count);
  const reply = await channel.request(packet);
  if (reply.length < VstorPacket.SIZE) return 0;
  const view = new DataView(reply.buffer, reply.byteOffset, VstorPacket.SIZE);
  if (view.getUint32(VstorPacket.operation, true) !== VstorOperation.completeIo || view.getUint32(VstorPacket.status, true) !== VstorStatus.success) return 0;
  return (await channel.subChannels.waitFor(count)).length;
}

/** Chooses the queue for each SRB. */
export class StorvscQueues {
  private next = 0;
  /** SRBs sent per queue: [primary, sub-channel 1, …] by sub-channel index. */
  readonly sent: number[] = [0];

  constructor(private readonly primary: GuestChannel) {}

  /** Queues open now: the primary and its open sub-channels. */
  get count(): number {
    return 1 + this.primary.subChannels.open.length;
  }

  /** The queue for the next SRB: fewest requests in flight, ties round-robin. */
  pick(): GuestChannel {
    const queue = this.choose();
    const index = queue.subChannelIndex;
    this.sent[index] = (this.sent[index] ?? 0) + 1;
    return queue;
  }

  private choose(): GuestChannel {
    const subs = this.primary.subChannels.open;
    if (subs.length === 0) return this.primary;
    const n = subs.length + 1;
    const start = this.next++ % n;
    let best: GuestChannel | undefined;
    for (let i = 0; i < n; i++) {
      const k = (start + i) % n;
      const queue = k === 0 ? this.primary : subs[k - 1]!;
      if (best === undefined || queue.inFlight < best.inFlight) best = queue;
    }
    return best!;
  }
}
