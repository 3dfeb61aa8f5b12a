/**
 * Channel-message table rows for the connection: INITIATE_CONTACT and VERSION_RESPONSE, with their
 * layouts before and after 5.0 (vmbus-wire.md §4.3-§4.4).
 */
import { InitiateContactLayout, VersionResponseLayout } from './channel-message-layout.ts';
import type { ChannelMessageOf } from './channel-messages.ts';
import { MESSAGE_CONNECTION_ID_SWITCH_VERSION } from './vmbus-version.ts';
import { type Row, T, address, check, gpaField, start, u32, u8 } from './channel-message-fields.ts';
import { fieldRow, nonZeroU8Field, u32Field, u8Field } from './channel-message-field-rows.ts';

export const initiateContact: Row<(typeof T)['initiateContact']> = {
  type: T.initiateContact,
  name: 'CHANNELMSG_INITIATE_CONTACT',
  direction: 'guestToHost',
  minVersion: undefined,
  features: 0,
  minSize: InitiateContactLayout.SIZE,
  decode(r) {
    const L = InitiateContactLayout;
    const versionRequested = r.u32(L.versionRequested);
    const monitorPage1 = address(r, L.monitorPage1, 'monitor_page1');
    if (typeof monitorPage1 !== 'number') return monitorPage1;
    const monitorPage2 = address(r, L.monitorPage2, 'monitor_page2');
    if (typeof monitorPage2 !== 'number') return monitorPage2;
    let target: ChannelMessageOf<(typeof T)['initiateContact']>['target'];
    if (versionRequested >= MESSAGE_CONNECTION_ID_SWITCH_VERSION) {
      target = { kind: 'sint', messageSint: r.u8(L.messageSint), messageVtl: r.u8(L.messageVtl), featureFlags: r.u32(L.featureFlags) };
    } else {
      const interruptPage = address(r, L.interruptPage, 'interrupt_page');
      if (typeof interruptPage !== 'number') return interruptPage;
      target = { kind: 'interruptPage', interruptPage };
    }
    return { type: T.initiateContact, versionRequested, targetVcpu: r.u32(L.targetVcpu), target, monitorPage1, monitorPage2 };
  },
  encode(m) {
    const L = InitiateContactLayout;
    const w = start(T.initiateContact, L.SIZE);
    u32(w, L.versionRequested, m.versionRequested, 'versionRequested');
    u32(w, L.targetVcpu, m.targetVcpu, 'targetVcpu');
    const wantsSint = m.versionRequested >= MESSAGE_CONNECTION_ID_SWITCH_VERSION;
    check(wantsSint === (m.target.kind === 'sint'), 'target.kind', m.target.kind, wantsSint ? "'sint' from 5.0 on" : "'interruptPage' before 5.0");
    if (m.target.kind === 'sint') {
      u8(w, L.messageSint, m.target.messageSint, 'messageSint');
      u8(w, L.messageVtl, m.target.messageVtl, 'messageVtl');
      u32(w, L.featureFlags, m.target.featureFlags, 'featureFlags');
    } else {
      gpaField(w, L.interruptPage, m.target.interruptPage, 'interruptPage');
    }
    gpaField(w, L.monitorPage1, m.monitorPage1, 'monitorPage1');
    gpaField(w, L.monitorPage2, m.monitorPage2, 'monitorPage2');
    return w.bytes;
  },
};

export const versionResponse = fieldRow(
  { type: T.versionResponse, name: 'CHANNELMSG_VERSION_RESPONSE', direction: 'hostToGuest', minVersion: undefined, size: VersionResponseLayout.SIZE },
  {
    versionSupported: [VersionResponseLayout.versionSupported, nonZeroU8Field],
    connectionState: [VersionResponseLayout.connectionState, u8Field],
    messageConnectionId: [VersionResponseLayout.messageConnectionId, u32Field],
  },
);
