/**
 * Channel-message table rows for offers and channels: OFFERCHANNEL, OPENCHANNEL and its result,
 * TL_CONNECT_REQUEST, MODIFYCHANNEL and its response (vmbus-wire.md §4.4), each a field list.
 */
import { ModifyChannelLayout, ModifyChannelResponseLayout, OfferChannelLayout, OpenChannelLayout, OpenChannelResultLayout, TlConnectRequestLayout } from './channel-message-layout.ts';
import { T, V } from './channel-message-fields.ts';
import { bit0U16Field, bit0U8Field, bytesCodec, fieldRow, gpadlIdField, guidField, relidCodec, u16Field, u32Field, u8Field } from './channel-message-field-rows.ts';

export const offerChannel = fieldRow(
  { type: T.offerChannel, name: 'CHANNELMSG_OFFERCHANNEL', direction: 'hostToGuest', minVersion: V.win8, size: OfferChannelLayout.SIZE },
  {
    interfaceType: [OfferChannelLayout.interfaceType, guidField],
    interfaceInstance: [OfferChannelLayout.interfaceInstance, guidField],
    channelFlags: [OfferChannelLayout.channelFlags, u16Field],
    mmioMegabytes: [OfferChannelLayout.mmioMegabytes, u16Field],
    userDefined: [OfferChannelLayout.userDefined, bytesCodec(OfferChannelLayout.USER_DEFINED_SIZE)],
    subChannelIndex: [OfferChannelLayout.subChannelIndex, u16Field],
    mmioMegabytesOptional: [OfferChannelLayout.mmioMegabytesOptional, u16Field],
    childRelid: [OfferChannelLayout.childRelid, relidCodec],
    monitorId: [OfferChannelLayout.monitorId, u8Field],
    monitorAllocated: [OfferChannelLayout.monitorAllocated, bit0U8Field],
    dedicatedInterrupt: [OfferChannelLayout.isDedicatedInterrupt, bit0U16Field],
    connectionId: [OfferChannelLayout.connectionId, u32Field],
  },
);

export const openChannel = fieldRow(
  { type: T.openChannel, name: 'CHANNELMSG_OPENCHANNEL', direction: 'guestToHost', minVersion: V.win8, size: OpenChannelLayout.SIZE },
  {
    childRelid: [OpenChannelLayout.childRelid, relidCodec],
    openId: [OpenChannelLayout.openId, u32Field],
    ringBufferGpadlId: [OpenChannelLayout.ringBufferGpadlHandle, gpadlIdField],
    targetVp: [OpenChannelLayout.targetVp, u32Field],
    downstreamRingBufferPageOffset: [OpenChannelLayout.downstreamRingBufferPageOffset, u32Field],
    userData: [OpenChannelLayout.userData, bytesCodec(OpenChannelLayout.USER_DATA_SIZE)],
  },
);

export const openChannelResult = fieldRow(
  { type: T.openChannelResult, name: 'CHANNELMSG_OPENCHANNEL_RESULT', direction: 'hostToGuest', minVersion: V.win8, size: OpenChannelResultLayout.SIZE },
  {
    childRelid: [OpenChannelResultLayout.childRelid, relidCodec],
    openId: [OpenChannelResultLayout.openId, u32Field],
    status: [OpenChannelResultLayout.status, u32Field],
  },
);

export const tlConnectRequest = fieldRow(
  { type: T.tlConnectRequest, name: 'CHANNELMSG_TL_CONNECT_REQUEST', direction: 'guestToHost', minVersion: V.win10, size: TlConnectRequestLayout.SIZE },
  {
    guestEndpointId: [TlConnectRequestLayout.guestEndpointId, guidField],
    hostServiceId: [TlConnectRequestLayout.hostServiceId, guidField],
  },
);

export const modifyChannel = fieldRow(
  { type: T.modifyChannel, name: 'CHANNELMSG_MODIFYCHANNEL', direction: 'guestToHost', minVersion: V.win10V4_1, size: ModifyChannelLayout.SIZE },
  {
    childRelid: [ModifyChannelLayout.childRelid, relidCodec],
    targetVp: [ModifyChannelLayout.targetVp, u32Field],
  },
);

export const modifyChannelResponse = fieldRow(
  { type: T.modifyChannelResponse, name: 'CHANNELMSG_MODIFYCHANNEL_RESPONSE', direction: 'hostToGuest', minVersion: V.win10V5_3, size: ModifyChannelResponseLayout.SIZE },
  {
    childRelid: [ModifyChannelResponseLayout.childRelid, relidCodec],
    status: [ModifyChannelResponseLayout.status, u32Field],
  },
);
