/**
 * storvsp's multi-queue control path (vmbus-wire.md §8.1; Linux `handle_multichannel_storage`,
 * OpenVMM storvsp's CREATE_SUB_CHANNELS): what QUERY_PROPERTIES announces and how
 * CREATE_SUB_CHANNELS is answered. Sans-IO apart from the one call that offers the sub-channels.
 *
 * - QUERY_PROPERTIES reports `max_channel_count` = the device's `maxSubChannels` and sets the
 *   multi-channel flag when it is non-zero (Linux asks for at most that many).
 * - CREATE_SUB_CHANNELS is valid on the primary channel once initialization ended; the count must
 *   be 1 up to what is left of `maxSubChannels` for this open of the primary (a VSC may ask more
 *   than once). The VSP then offers that many sub-channels through the VMBus host
 *   (`HostChannel.offerSubChannels`) and answers success; the guest's VMBus opens them. With
 *   `maxSubChannels` 0 the operation is NOT_SUPPORTED, as before multi-queue existed.
 * - A sub-channel needs no initialization of its own: it serves SRBs at once, at the version its
 *   primary negotiated (Linux sends none on a sub-channel), and sends no ENUMERATE_BUS (the
 *   primary's rescan covers the controller).
 */
import { ChannelPropertyFlags, StorvscProtocol, VstorStatus, type ChannelPropertiesFields } from '@viridian/vmbus';
import type { HostChannel } from '../../vmbus/host-channel.ts';
import type { StorvspInitState } from './state.ts';

/** Sub-channels one storvsp controller offers at most, whatever its options say (Linux: CPUs − 1). */
export const MAX_STORVSP_SUB_CHANNELS = 63;

/** What QUERY_PROPERTIES reports for a device offering up to `maxSubChannels` sub-channels. */
export function channelProperties(maxSubChannels: number): ChannelPropertiesFields {
  return {
    maxChannelCount: maxSubChannels,
    flags: maxSubChannels > 0 ? ChannelPropertyFlags.supportsMultiChannel : 0,
    maxTransferBytes: StorvscProtocol.MAX_TRANSFER_BYTES,
  };
}

/**
 * The device's `maxSubChannels` option, checked.
 * @throws {RangeError} when it is not an integer in 0..63
 */
export function checkMaxSubChannels(value: number | undefined): number {
  const max = value ?? 0;
  if (!Number.isInteger(max) || max < 0 || max > MAX_STORVSP_SUB_CHANNELS) throw new RangeError(`maxSubChannels must be an integer in 0..${MAX_STORVSP_SUB_CHANNELS}, got ${max}`);
  return max;
}

/** Why a CREATE_SUB_CHANNELS was refused (counted per reason). */
export type SubChannelRefusal = 'not-supported' | 'not-primary' | 'before-ready' | 'bad-count' | 'host-refused';

/** The outcome of a CREATE_SUB_CHANNELS: the status to answer and, if refused, why. */
export interface SubChannelAnswer {
  readonly status: number;
  readonly refused?: SubChannelRefusal;
  readonly detail?: string;
}

/** The sub-channels one open primary has asked for so far. */
export interface SubChannelBudget {
  offered: number;
}

/**
 * Answers CREATE_SUB_CHANNELS for `count` on `channel` (in `state`), offering the sub-channels
 * when it is valid (the device's `open` then serves each as the guest opens it).
 */
export function createSubChannels(
  channel: HostChannel,
  state: StorvspInitState,
  count: number,
  maxSubChannels: number,
  budget: SubChannelBudget,
): SubChannelAnswer {
  if (maxSubChannels === 0) return { status: VstorStatus.notSupported, refused: 'not-supported' };
  if (channel.primary !== undefined) return { status: VstorStatus.invalidDeviceState, refused: 'not-primary', detail: `CREATE_SUB_CHANNELS on sub-channel ${channel.id}` };
  if (state.kind !== 'ready') return { status: VstorStatus.invalidDeviceState, refused: 'before-ready', detail: `CREATE_SUB_CHANNELS in state ${state.kind}` };
  const left = maxSubChannels - budget.offered;
  if (count < 1 || count > left) return { status: VstorStatus.invalidParameter, refused: 'bad-count', detail: `${count} sub-channels asked, ${left} left` };
  // Counted first: if the host offers only some before failing, the guest still never gets more
  // than the maximum by asking again.
  budget.offered += count;
  try {
    channel.offerSubChannels(count);
  } catch (error) {
    // The primary is closing, or the channel ids ran out: the guest gets a failure, the root goes on.
    return { status: VstorStatus.unsuccessful, refused: 'host-refused', detail: error instanceof Error ? error.message : String(error) };
  }
  return { status: VstorStatus.success };
}
