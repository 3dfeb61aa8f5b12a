/** The VHD layouts match the specification's sizes; geometry and checksum match its algorithms. */
import { describe, expect, test } from 'vitest';
import { encodeVhdFooter, newVhdFooter, parseVhdFooter, vhdChecksum } from './vhd-footer.ts';
import { encodeVhdDynamicHeader, padLocators, parseVhdDynamicHeader, vhdBitmapSize } from './vhd-dynamic-header.ts';
import { vhdGeometry } from './vhd-geometry.ts';
import { VhdDynamicHeader, VhdFooter, VhdParentLocatorEntry, VHD_PARENT_LOCATOR_COUNT } from './vhd-layout.ts';

describe('VHD layouts', () => {
  test('footer is 512 bytes ending in 427 reserved bytes', () => {
    expect(VhdFooter.SIZE).toBe(512);
    expect(VhdFooter.reserved + 427).toBe(VhdFooter.SIZE);
    expect(VhdFooter.uniqueId + 16).toBe(VhdFooter.savedState);
  });

  test('dynamic header is 1024 bytes with eight 24-byte locators', () => {
    expect(VhdDynamicHeader.SIZE).toBe(1024);
    expect(VhdParentLocatorEntry.SIZE).toBe(24);
    expect(VhdDynamicHeader.parentLocators + VHD_PARENT_LOCATOR_COUNT * VhdParentLocatorEntry.SIZE).toBe(VhdDynamicHeader.reserved2);
    expect(VhdDynamicHeader.reserved2 + 256).toBe(VhdDynamicHeader.SIZE);
    expect(VhdDynamicHeader.parentUnicodeName + 512).toBe(VhdDynamicHeader.parentLocators);
  });

  test('checksum is the complement of the byte sum without the checksum field', () => {
    const bytes = new Uint8Array(8).fill(1);
    expect(vhdChecksum(bytes, 4)).toBe(~4 >>> 0);
  });

  test('footer and header round trip', () => {
    const id = new Uint8Array(16).fill(7);
    const footer = newVhdFooter('dynamic', 64 * 2 ** 20, 512, id);
    expect(parseVhdFooter(encodeVhdFooter(footer), 'x')).toEqual({ ...footer, uniqueId: id });
    const header = { tableOffset: 1536, maxTableEntries: 32, blockSize: 2 ** 21, parentUniqueId: id, parentTimestamp: 9, parentUnicodeName: 'pärent.vhd', parentLocators: padLocators([{ platformCode: 0x57327275, dataSpace: 1024, dataLength: 20, dataOffset: 4096 }]) };
    expect(parseVhdDynamicHeader(encodeVhdDynamicHeader(header), 'x')).toEqual(header);
  });

  test('geometry follows the specification (and qemu for the 64 MiB disk it creates)', () => {
    // qemu-img create -f vpc 64M writes C/H/S 964/8/17 (0x03c4/8/0x11) and rounds the size up to it.
    expect(vhdGeometry(0x04004000 / 512)).toEqual({ cylinders: 964, heads: 8, sectorsPerTrack: 17 });
    expect(vhdGeometry(2 ** 40 / 512)).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
    expect(vhdGeometry(2 ** 30 / 512)).toEqual({ cylinders: 2080, heads: 16, sectorsPerTrack: 63 });
  });

  test('bitmap size pads to a sector', () => {
    expect(vhdBitmapSize(2 ** 21)).toBe(512);
    expect(vhdBitmapSize(4096)).toBe(512);
    expect(vhdBitmapSize(2 ** 25)).toBe(8192);
  });
});
