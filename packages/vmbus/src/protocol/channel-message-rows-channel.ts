/**
 * Channel-message table rows for offers and channels: OFFERCHANNEL, OPENCHANNEL and its result,
 * TL_CONNECT_REQUEST, MODIFYCHANNEL and its response (vmbus-wire.md §4.4).
 */
import { ModifyChannelLayout, ModifyChannelResponseLayout, OfferChannelLayout, OpenChannelLayout, OpenChannelResultLayout, TlConnectRequestLayout } from './channel-message-layout.ts';
import type { GpadlId } from './channel-messages.ts';
import { type Row, T, V, bytesField, relid, relidField, start, u16, u32, u8 } from './channel-message-fields.ts';

export const offerChannel: Row<(typeof T)['offerChannel']> = {
  type: T.offerChannel,
  name: 'CHANNELMSG_OFFERCHANNEL',
  direction: 'hostToGuest',
  minVersion: V.win8,
  features: 0,
  minSize: OfferChannelLayout.SIZE,
  decode(r) {
    const L = OfferChannelLayout;
    const childRelid = relid(r, L.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return {
      type: T.offerChannel,
      interfaceType: r.guid(L.interfaceType),
      interfaceInstance: r.guid(L.interfaceInstance),
      channelFlags: r.u16(L.channelFlags),
      mmioMegabytes: r.u16(L.mmioMegabytes),
      userDefined: r.copy(L.userDefined, L.USER_DEFINED_SIZE),
      subChannelIndex: r.u16(L.subChannelIndex),
      mmioMegabytesOptional: r.u16(L.mmioMegabytesOptional),
      childRelid,
      monitorId: r.u8(L.monitorId),
      monitorAllocated: (r.u8(L.monitorAllocated) & 1) !== 0,
      dedicatedInterrupt: (r.u16(L.isDedicatedInterrupt) & 1) !== 0,
      connectionId: r.u32(L.connectionId),
    };
  },
  encode(m) {
    const L = OfferChannelLayout;
    const w = start(T.offerChannel, L.SIZE);
    w.guid(L.interfaceType, m.interfaceType);
    w.guid(L.interfaceInstance, m.interfaceInstance);
    u16(w, L.channelFlags, m.channelFlags, 'channelFlags');
    u16(w, L.mmioMegabytes, m.mmioMegabytes, 'mmioMegabytes');
    bytesField(w, L.userDefined, m.userDefined, L.USER_DEFINED_SIZE, 'userDefined');
    u16(w, L.subChannelIndex, m.subChannelIndex, 'subChannelIndex');
    u16(w, L.mmioMegabytesOptional, m.mmioMegabytesOptional, 'mmioMegabytesOptional');
    relidField(w, L.childRelid, m.childRelid);
    u8(w, L.monitorId, m.monitorId, 'monitorId');
    w.u8(L.monitorAllocated, m.monitorAllocated ? 1 : 0);
    w.u16(L.isDedicatedInterrupt, m.dedicatedInterrupt ? 1 : 0);
    u32(w, L.connectionId, m.connectionId, 'connectionId');
    return w.bytes;
  },
};

export const openChannel: Row<(typeof T)['openChannel']> = {
  type: T.openChannel,
  name: 'CHANNELMSG_OPENCHANNEL',
  direction: 'guestToHost',
  minVersion: V.win8,
  features: 0,
  minSize: OpenChannelLayout.SIZE,
  decode(r) {
    const L = OpenChannelLayout;
    const childRelid = relid(r, L.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return {
      type: T.openChannel,
      childRelid,
      openId: r.u32(L.openId),
      ringBufferGpadlId: r.u32(L.ringBufferGpadlHandle) as GpadlId,
      targetVp: r.u32(L.targetVp),
      downstreamRingBufferPageOffset: r.u32(L.downstreamRingBufferPageOffset),
      userData: r.copy(L.userData, L.USER_DATA_SIZE),
    };
  },
  encode(m) {
    const L = OpenChannelLayout;
    const w = start(T.openChannel, L.SIZE);
    relidField(w, L.childRelid, m.childRelid);
    u32(w, L.openId, m.openId, 'openId');
    u32(w, L.ringBufferGpadlHandle, m.ringBufferGpadlId, 'ringBufferGpadlId');
    u32(w, L.targetVp, m.targetVp, 'targetVp');
    u32(w, L.downstreamRingBufferPageOffset, m.downstreamRingBufferPageOffset, 'downstreamRingBufferPageOffset');
    bytesField(w, L.userData, m.userData, L.USER_DATA_SIZE, 'userData');
    return w.bytes;
  },
};

export const openChannelResult: Row<(typeof T)['openChannelResult']> = {
  type: T.openChannelResult,
  name: 'CHANNELMSG_OPENCHANNEL_RESULT',
  direction: 'hostToGuest',
  minVersion: V.win8,
  features: 0,
  minSize: OpenChannelResultLayout.SIZE,
  decode(r) {
    const L = OpenChannelResultLayout;
    const childRelid = relid(r, L.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return { type: T.openChannelResult, childRelid, openId: r.u32(L.openId), status: r.u32(L.status) };
  },
  encode(m) {
    const L = OpenChannelResultLayout;
    const w = start(T.openChannelResult, L.SIZE);
    relidField(w, L.childRelid, m.childRelid);
    u32(w, L.openId, m.openId, 'openId');
    u32(w, L.status, m.status, 'status');
    return w.bytes;
  },
};


export const tlConnectRequest: Row<(typeof T)['tlConnectRequest']> = {
  type: T.tlConnectRequest,
  name: 'CHANNELMSG_TL_CONNECT_REQUEST',
  direction: 'guestToHost',
  minVersion: V.win10,
  features: 0,
  minSize: TlConnectRequestLayout.SIZE,
  decode: (r) => ({
    type: T.tlConnectRequest,
    guestEndpointId: r.guid(TlConnectRequestLayout.guestEndpointId),
    hostServiceId: r.guid(TlConnectRequestLayout.hostServiceId),
  }),
  encode(m) {
    const w = start(T.tlConnectRequest, TlConnectRequestLayout.SIZE);
    w.guid(TlConnectRequestLayout.guestEndpointId, m.guestEndpointId);
    w.guid(TlConnectRequestLayout.hostServiceId, m.hostServiceId);
    return w.bytes;
  },
};

export const modifyChannel: Row<(typeof T)['modifyChannel']> = {
  type: T.modifyChannel,
  name: 'CHANNELMSG_MODIFYCHANNEL',
  direction: 'guestToHost',
  minVersion: V.win10V4_1,
  features: 0,
  minSize: ModifyChannelLayout.SIZE,
  decode(r) {
    const childRelid = relid(r, ModifyChannelLayout.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return { type: T.modifyChannel, childRelid, targetVp: r.u32(ModifyChannelLayout.targetVp) };
  },
  encode(m) {
    const w = start(T.modifyChannel, ModifyChannelLayout.SIZE);
    relidField(w, ModifyChannelLayout.childRelid, m.childRelid);
    u32(w, ModifyChannelLayout.targetVp, m.targetVp, 'targetVp');
    return w.bytes;
  },
};

export const modifyChannelResponse: Row<(typeof T)['modifyChannelResponse']> = {
  type: T.modifyChannelResponse,
  name: 'CHANNELMSG_MODIFYCHANNEL_RESPONSE',
  direction: 'hostToGuest',
  minVersion: V.win10V5_3,
  features: 0,
  minSize: ModifyChannelResponseLayout.SIZE,
  decode(r) {
    const childRelid = relid(r, ModifyChannelResponseLayout.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return { type: T.modifyChannelResponse, childRelid, status: r.u32(ModifyChannelResponseLayout.status) };
  },
  encode(m) {
    const w = start(T.modifyChannelResponse, ModifyChannelResponseLayout.SIZE);
    relidField(w, ModifyChannelResponseLayout.childRelid, m.childRelid);
    u32(w, ModifyChannelResponseLayout.status, m.status, 'status');
    return w.bytes;
  },
};
