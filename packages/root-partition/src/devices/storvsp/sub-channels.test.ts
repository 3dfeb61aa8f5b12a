/**
 * storvsp's multi-queue control path alone: what QUERY_PROPERTIES announces, the option's range,
 * and every answer to CREATE_SUB_CHANNELS (vmbus-wire.md §8.1), with a stand-in for the channel.
 */
import { describe, expect, it } from 'vitest';
import { EMPTY } from 'rxjs';
import { ChannelPropertyFlags, ChannelStateError, StorvscProtocol, VstorStatus, type ChannelId } from '@viridian/vmbus';
import type { HostChannel } from '../../vmbus/host-channel.ts';
import { channelProperties, checkMaxSubChannels, createSubChannels, type SubChannelBudget } from './sub-channels.ts';

const ready = { kind: 'ready', version: 0x0602 } as const;

function channel(primary?: number, fail?: Error): { channel: HostChannel; asked: number[] } {
  const asked: number[] = [];
  const stand = {
    id: 7 as ChannelId,
    primary: primary as ChannelId | undefined,
    offerSubChannels(count: number) {
      if (fail) throw fail;
      asked.push(count);
      return EMPTY;
    },
  };
  return { channel: stand as unknown as HostChannel, asked };
}

describe('storvsp sub-channels', () => {
  it('announces multi-channel only when it offers sub-channels', () => {
    expect(channelProperties(0)).toEqual({ maxChannelCount: 0, flags: 0, maxTransferBytes: StorvscProtocol.MAX_TRANSFER_BYTES });
    expect(channelProperties(5)).toEqual({ maxChannelCount: 5, flags: ChannelPropertyFlags.supportsMultiChannel, maxTransferBytes: StorvscProtocol.MAX_TRANSFER_BYTES });
    expect(checkMaxSubChannels(undefined)).toBe(0);
    expect(checkMaxSubChannels(63)).toBe(63);
    for (const bad of [-1, 64, 1.5, Number.NaN]) expect(() => checkMaxSubChannels(bad)).toThrow(RangeError);
  });

  it('offers what the primary asks for, up to the maximum over several requests', () => {
    const { channel: primary, asked } = channel();
    const budget: SubChannelBudget = { offered: 0 };
    expect(createSubChannels(primary, ready, 2, 3, budget)).toEqual({ status: VstorStatus.success });
    expect(createSubChannels(primary, ready, 2, 3, budget)).toMatchObject({ status: VstorStatus.invalidParameter, refused: 'bad-count' });
    expect(createSubChannels(primary, ready, 1, 3, budget)).toEqual({ status: VstorStatus.success });
    expect(asked).toEqual([2, 1]);
    expect(budget.offered).toBe(3);
  });

  it('refuses without multi-queue, on a sub-channel, before END_INITIALIZATION, and counts of 0 or too many', () => {
    const budget: SubChannelBudget = { offered: 0 };
    const { channel: primary, asked } = channel();
    expect(createSubChannels(primary, ready, 1, 0, budget)).toEqual({ status: VstorStatus.notSupported, refused: 'not-supported' });
    expect(createSubChannels(channel(7).channel, ready, 1, 3, budget)).toMatchObject({ status: VstorStatus.invalidDeviceState, refused: 'not-primary' });
    for (const state of [{ kind: 'awaiting-begin' }, { kind: 'negotiating' }, { kind: 'version-agreed', version: 0x0602 }] as const) {
      expect(createSubChannels(primary, state, 1, 3, budget)).toMatchObject({ status: VstorStatus.invalidDeviceState, refused: 'before-ready' });
    }
    for (const count of [0, 4, 0xffff]) expect(createSubChannels(primary, ready, count, 3, budget)).toMatchObject({ status: VstorStatus.invalidParameter, refused: 'bad-count' });
    expect(asked).toEqual([]);
    expect(budget.offered).toBe(0);
  });

  it('answers UNSUCCESSFUL when the host cannot offer them, and still counts them', () => {
    const budget: SubChannelBudget = { offered: 0 };
    const { channel: closing } = channel(undefined, new ChannelStateError('primary closing'));
    expect(createSubChannels(closing, ready, 2, 3, budget)).toMatchObject({ status: VstorStatus.unsuccessful, refused: 'host-refused', detail: 'primary closing' });
    expect(budget.offered).toBe(2);
  });
});
