/**
 * VMBus protocol versions and the connection ids and SINT the control plane travels on
 * (vmbus-wire.md §4.1, §4.3, §6.4). A version is a u32 `major << 16 | minor`, built with
 * {@link version}. Negotiation walks {@link NEGOTIABLE_VERSIONS} newest first (5.3 down to 2.4,
 * WIN8); older versions (WS2008, WIN7) are named for decoding but never negotiated, like Linux.
 * Protocol file: numbers and one-line helpers, no state.
 */

/** A VMBus protocol version: `major << 16 | minor` (u32). */
export type VmbusVersion = number & { readonly __brand: 'VmbusVersion' };

/**
 * Builds a version number from its parts.
 * @throws {RangeError} when a part is not an integer in 0..0xffff
 */
export function version(major: number, minor: number): VmbusVersion {
  if (!Number.isInteger(major) || !Number.isInteger(minor) || major < 0 || minor < 0 || major > 0xffff || minor > 0xffff) {
    throw new RangeError(`version parts must be u16 integers, got ${major}.${minor}`);
  }
  return (((major << 16) | minor) >>> 0) as VmbusVersion;
}

/** The major part of a version (bits 31..16). */
export function versionMajor(v: number): number {
  return v >>> 16;
}

/** The minor part of a version (bits 15..0). */
export function versionMinor(v: number): number {
  return v & 0xffff;
}

/** `major.minor`, for logs. */
export function formatVersion(v: number): string {
  return `${versionMajor(v)}.${versionMinor(v)}`;
}

/** The named versions of §4.3 (Linux `VERSION_*`). */
export const VmbusVersions = Object.freeze({
  /** 0.13: WS2008; never negotiated. */
  ws2008: version(0, 13),
  /** 1.1: Win7 / 2008 R2; never negotiated. */
  win7: version(1, 1),
  /** 2.4: Win8 / WS2012, the oldest version negotiated. */
  win8: version(2, 4),
  /** 3.0: 8.1 / 2012 R2; UNLOAD needs it. */
  win8_1: version(3, 0),
  /** 4.0: Win10 / 2016. */
  win10: version(4, 0),
  /** 4.1: RS3; MODIFYCHANNEL needs it. */
  win10V4_1: version(4, 1),
  /** 5.0: the message connection id moves to 4 for INITIATE_CONTACT, then to the host's choice. */
  win10V5: version(5, 0),
  /** 5.1: RS4; `msg_vtl` in INITIATE_CONTACT is honoured. */
  win10V5_1: version(5, 1),
  /** 5.2: WS2019 / RS5. */
  win10V5_2: version(5, 2),
  /** 5.3: WS2022 ("Iron"); MODIFYCHANNEL_RESPONSE is sent from here on. */
  win10V5_3: version(5, 3),
  /** 6.0: Confidential VMBus ("Copper"), the first version with feature flags; not negotiated here. */
  win10V6_0: version(6, 0),
});

/** The versions this implementation negotiates, newest first (Linux's table without 6.0). */
export const NEGOTIABLE_VERSIONS: readonly VmbusVersion[] = Object.freeze([
  VmbusVersions.win10V5_3,
  VmbusVersions.win10V5_2,
  VmbusVersions.win10V5_1,
  VmbusVersions.win10V5,
  VmbusVersions.win10V4_1,
  VmbusVersions.win10,
  VmbusVersions.win8_1,
  VmbusVersions.win8,
]);

/** The newest version this implementation negotiates. */
export const NEWEST_VERSION: VmbusVersion = VmbusVersions.win10V5_3;

/**
 * From this version on, INITIATE_CONTACT goes to connection id 4 and carries `msg_sint`/`msg_vtl`
 * instead of the interrupt page, and later messages go to the `msg_conn_id` the host returned.
 */
export const MESSAGE_CONNECTION_ID_SWITCH_VERSION: VmbusVersion = VmbusVersions.win10V5;

/** VMBus connection and port ids (§6.4). */
export const VmbusConnectionId = Object.freeze({
  /** Guest→host messages before 5.0 (and the default message port). */
  message: 1,
  /** The event connection/port (pre-Win8 interrupt-page signalling). */
  event: 2,
  /** The monitor connection/port. */
  monitor: 3,
  /** INITIATE_CONTACT from 5.0 on. */
  message4: 4,
} as const);

/** Host→guest VMBus messages arrive on this SINT (`VMBUS_MESSAGE_SINT`, §5.2). */
export const VMBUS_MESSAGE_SINT = 2;

/** SynIC message type the guest passes to HvPostMessage for channel messages (§4.1). */
export const VMBUS_MESSAGE_TYPE = 1;

/** SINTs per VP: `msg_sint` must be below this. */
export const SINT_COUNT = 16;

/**
 * Feature flags of INITIATE_CONTACT/VERSION_RESPONSE (**[MS-hdr]**, from 6.0 on). None is
 * negotiated by versions up to 5.3; the message table names them as requirements.
 */
export const VmbusFeature = Object.freeze({
  guestSpecifiedSignalParameters: 0x1,
  interruptRedirection: 0x2,
  modifyConnection: 0x4,
  clientId: 0x8,
  confidentialChannels: 0x10,
  pauseResume: 0x20,
} as const);

/** The connection id INITIATE_CONTACT for `requested` is posted to (§4.1). */
export function initiateContactConnectionId(requested: number): number {
  return requested >= MESSAGE_CONNECTION_ID_SWITCH_VERSION ? VmbusConnectionId.message4 : VmbusConnectionId.message;
}

/**
 * The connection id later guest→host messages use once `negotiated` is agreed: the host's
 * `msg_conn_id` from 5.0 on, 1 before.
 */
export function messageConnectionIdFor(negotiated: number, hostMessageConnectionId: number): number {
  return negotiated >= MESSAGE_CONNECTION_ID_SWITCH_VERSION ? hostMessageConnectionId : VmbusConnectionId.message;
}
