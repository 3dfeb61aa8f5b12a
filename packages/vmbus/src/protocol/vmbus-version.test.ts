/** Versions and connection ids against vmbus-wire.md §4.1, §4.3 and §6.4. */
import { describe, expect, it } from 'vitest';
import {
  formatVersion,
  initiateContactConnectionId,
  messageConnectionIdFor,
  NEGOTIABLE_VERSIONS,
  version,
  VMBUS_MESSAGE_SINT,
  VmbusConnectionId,
  VmbusVersions,
} from './vmbus-version.ts';

describe('VMBus versions (§4.3)', () => {
  it('encodes major << 16 | minor', () => {
    expect(VmbusVersions.ws2008).toBe(0x0000000d);
    expect(VmbusVersions.win7).toBe(0x00010001);
    expect(VmbusVersions.win8).toBe(0x00020004);
    expect(VmbusVersions.win8_1).toBe(0x00030000);
    expect(VmbusVersions.win10).toBe(0x00040000);
    expect(VmbusVersions.win10V4_1).toBe(0x00040001);
    expect(VmbusVersions.win10V5).toBe(0x00050000);
    expect(VmbusVersions.win10V5_1).toBe(0x00050001);
    expect(VmbusVersions.win10V5_2).toBe(0x00050002);
    expect(VmbusVersions.win10V5_3).toBe(0x00050003);
    expect(VmbusVersions.win10V6_0).toBe(0x00060000);
    expect(formatVersion(version(5, 3))).toBe('5.3');
    expect(() => version(0x10000, 0)).toThrow(RangeError);
  });

  it('negotiates 5.3 down to 2.4, newest first', () => {
    expect(NEGOTIABLE_VERSIONS.map(formatVersion)).toEqual(['5.3', '5.2', '5.1', '5.0', '4.1', '4.0', '3.0', '2.4']);
  });

  it('switches the message connection id at 5.0 (§4.1, §6.4)', () => {
    expect(VmbusConnectionId).toEqual({ message: 1, event: 2, monitor: 3, message4: 4 });
    expect(VMBUS_MESSAGE_SINT).toBe(2);
    expect(initiateContactConnectionId(VmbusVersions.win10V4_1)).toBe(1);
    expect(initiateContactConnectionId(VmbusVersions.win10V5)).toBe(4);
    expect(messageConnectionIdFor(VmbusVersions.win10, 7)).toBe(1);
    expect(messageConnectionIdFor(VmbusVersions.win10V5_2, 7)).toBe(7);
  });
});
