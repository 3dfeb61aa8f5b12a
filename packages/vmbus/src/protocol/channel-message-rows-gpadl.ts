/**
 * Channel-message table rows for GPADLs: GPADL_HEADER, GPADL_BODY, GPADL_CREATED, GPADL_TEARDOWN,
 * GPADL_TORNDOWN (vmbus-wire.md §4.5).
 */
import { GPADL_BODY_MAX_PFNS, GPADL_HEADER_MAX_PFNS, GpadlBodyLayout, GpadlCreatedLayout, GpadlHeaderLayout, GpadlTeardownLayout, GpadlTorndownLayout } from './channel-message-layout.ts';
import type { GpadlId } from './channel-messages.ts';
import { type Row, T, V, check, pfnFields, pfnList, relid, relidField, start, u16, u32 } from './channel-message-fields.ts';
import { fieldRow, gpadlIdField, relidCodec, u32Field } from './channel-message-field-rows.ts';

export const gpadlHeader: Row<(typeof T)['gpadlHeader']> = {
  type: T.gpadlHeader,
  name: 'CHANNELMSG_GPADL_HEADER',
  direction: 'guestToHost',
  minVersion: V.win8,
  features: 0,
  minSize: GpadlHeaderLayout.SIZE,
  decode(r) {
    const L = GpadlHeaderLayout;
    const childRelid = relid(r, L.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    const pfns = pfnList(r, L.pfns);
    if (!Array.isArray(pfns)) return pfns;
    return {
      type: T.gpadlHeader,
      childRelid,
      gpadlId: r.u32(L.gpadl) as GpadlId,
      rangeBufferLength: r.u16(L.rangeBufferLength),
      rangeCount: r.u16(L.rangeCount),
      byteCount: r.u32(L.rangeByteCount),
      byteOffset: r.u32(L.rangeByteOffset),
      pfns,
    };
  },
  encode(m) {
    const L = GpadlHeaderLayout;
    check(m.pfns.length <= GPADL_HEADER_MAX_PFNS, 'pfns', `${m.pfns.length} PFNs`, `at most ${GPADL_HEADER_MAX_PFNS}`);
    const w = start(T.gpadlHeader, L.SIZE + m.pfns.length * L.PFN_SIZE);
    relidField(w, L.childRelid, m.childRelid);
    u32(w, L.gpadl, m.gpadlId, 'gpadlId');
    u16(w, L.rangeBufferLength, m.rangeBufferLength, 'rangeBufferLength');
    u16(w, L.rangeCount, m.rangeCount, 'rangeCount');
    u32(w, L.rangeByteCount, m.byteCount, 'byteCount');
    u32(w, L.rangeByteOffset, m.byteOffset, 'byteOffset');
    pfnFields(w, L.pfns, m.pfns);
    return w.bytes;
  },
};

export const gpadlBody: Row<(typeof T)['gpadlBody']> = {
  type: T.gpadlBody,
  name: 'CHANNELMSG_GPADL_BODY',
  direction: 'guestToHost',
  minVersion: V.win8,
  features: 0,
  /** A body carries at least one PFN: an empty one could only be a flood. */
  minSize: GpadlBodyLayout.SIZE + GpadlBodyLayout.PFN_SIZE,
  decode(r) {
    const L = GpadlBodyLayout;
    const pfns = pfnList(r, L.pfns);
    if (!Array.isArray(pfns)) return pfns;
    return { type: T.gpadlBody, messageNumber: r.u32(L.messageNumber), gpadlId: r.u32(L.gpadl) as GpadlId, pfns };
  },
  encode(m) {
    const L = GpadlBodyLayout;
    check(m.pfns.length >= 1 && m.pfns.length <= GPADL_BODY_MAX_PFNS, 'pfns', `${m.pfns.length} PFNs`, `1..${GPADL_BODY_MAX_PFNS}`);
    const w = start(T.gpadlBody, L.SIZE + m.pfns.length * L.PFN_SIZE);
    u32(w, L.messageNumber, m.messageNumber, 'messageNumber');
    u32(w, L.gpadl, m.gpadlId, 'gpadlId');
    pfnFields(w, L.pfns, m.pfns);
    return w.bytes;
  },
};

export const gpadlCreated = fieldRow(
  { type: T.gpadlCreated, name: 'CHANNELMSG_GPADL_CREATED', direction: 'hostToGuest', minVersion: V.win8, size: GpadlCreatedLayout.SIZE },
  {
    childRelid: [GpadlCreatedLayout.childRelid, relidCodec],
    gpadlId: [GpadlCreatedLayout.gpadl, gpadlIdField],
    status: [GpadlCreatedLayout.status, u32Field],
  },
);

export const gpadlTeardown = fieldRow(
  { type: T.gpadlTeardown, name: 'CHANNELMSG_GPADL_TEARDOWN', direction: 'guestToHost', minVersion: V.win8, size: GpadlTeardownLayout.SIZE },
  {
    childRelid: [GpadlTeardownLayout.childRelid, relidCodec],
    gpadlId: [GpadlTeardownLayout.gpadl, gpadlIdField],
  },
);

export const gpadlTorndown = fieldRow(
  { type: T.gpadlTorndown, name: 'CHANNELMSG_GPADL_TORNDOWN', direction: 'hostToGuest', minVersion: V.win8, size: GpadlTorndownLayout.SIZE },
  { gpadlId: [GpadlTorndownLayout.gpadl, gpadlIdField] },
);
