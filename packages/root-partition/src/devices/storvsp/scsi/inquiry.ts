/**
 * INQUIRY data of a disk LUN (SPC-4 6.6, 7.8; SBC-3 6.6): the standard data and the VPD pages
 * 0x00 (supported pages), 0x80 (unit serial number), 0x83 (device identification: one NAA
 * designator), 0xB0 (block limits) and 0xB2 (logical block provisioning). Each builder returns the
 * whole page; the caller cuts it to the allocation length.
 */
import { BlockLimitsPage, InquiryData, PERIPHERAL_DIRECT_ACCESS, VpdPage } from '@viridian/vmbus';

/** What INQUIRY reports of one LUN. */
export interface LunIdentity {
  /** ASCII, at most 32 characters. */
  readonly serial: string;
  /** 16 bytes: an NAA IEEE Registered Extended designator (first nibble 6). */
  readonly naa: Uint8Array;
}

/** Geometry and limits a LUN reports in its VPD pages. */
export interface LunLimits {
  readonly blockSize: number;
  /** Largest transfer, bytes. */
  readonly maxTransferBytes: number;
  /** Physical block size, bytes (the optimal granularity). */
  readonly physicalBlockSize: number;
  /** Largest UNMAP request, blocks. */
  readonly maxUnmapBlocks: number;
  readonly maxUnmapDescriptors: number;
  /** Whether unmapped blocks read back as zeros (LBPRZ). */
  readonly trimReadsZeros: boolean;
  /** Thin (dynamic formats) or full (fixed, raw) provisioning. */
  readonly thin: boolean;
}

export const SUPPORTED_VPD_PAGES: readonly number[] = Object.freeze([
  VpdPage.supportedPages,
  VpdPage.unitSerialNumber,
  VpdPage.deviceIdentification,
  VpdPage.blockLimits,
  VpdPage.logicalBlockProvisioning,
]);

/** Standard INQUIRY data: a direct-access disk, SPC-4, command queuing. */
export function standardInquiry(): Uint8Array {
  const data = new Uint8Array(InquiryData.SIZE);
  data[InquiryData.peripheral] = PERIPHERAL_DIRECT_ACCESS;
  data[InquiryData.version] = InquiryData.VERSION_SPC4;
  data[InquiryData.responseFormat] = 0x02 | 0x10; // response data format 2, HISUP
  data[InquiryData.additionalLength] = InquiryData.SIZE - 5;
  data[InquiryData.flags7] = 0x02; // CMDQUE
  ascii(data, InquiryData.vendor, InquiryData.VENDOR_SIZE, 'Msft');
  ascii(data, InquiryData.product, InquiryData.PRODUCT_SIZE, 'Virtual Disk');
  ascii(data, InquiryData.revision, InquiryData.REVISION_SIZE, '1.0');
  return data;
}

/** A VPD page, or `undefined` for one not supported (CHECK CONDITION, INVALID FIELD IN CDB). */
export function vpdPage(page: number, identity: LunIdentity, limits: LunLimits): Uint8Array | undefined {
  switch (page) {
    case VpdPage.supportedPages:
      return withHeader(page, Uint8Array.from(SUPPORTED_VPD_PAGES));
    case VpdPage.unitSerialNumber: {
      const serial = new Uint8Array(Math.min(identity.serial.length, 32));
      ascii(serial, 0, serial.length, identity.serial);
      return withHeader(page, serial);
    }
    case VpdPage.deviceIdentification: {
      // One designator: code set binary (1), association LU (0), type NAA (3), 16 bytes.
      const designator = new Uint8Array(4 + 16);
      designator[0] = 0x01;
      designator[1] = 0x03;
      designator[3] = 16;
      designator.set(identity.naa.subarray(0, 16), 4);
      return withHeader(page, designator);
    }
    case VpdPage.blockLimits: {
      const data = new Uint8Array(BlockLimitsPage.SIZE);
      const v = new DataView(data.buffer);
      data[1] = page;
      v.setUint16(BlockLimitsPage.pageLength, BlockLimitsPage.SIZE - 4);
      v.setUint16(BlockLimitsPage.optimalTransferGranularity, Math.max(1, limits.physicalBlockSize / limits.blockSize));
      v.setUint32(BlockLimitsPage.maxTransferLength, limits.maxTransferBytes / limits.blockSize);
      v.setUint32(BlockLimitsPage.optimalTransferLength, limits.maxTransferBytes / limits.blockSize);
      v.setUint32(BlockLimitsPage.maxUnmapLbaCount, limits.maxUnmapBlocks);
      v.setUint32(BlockLimitsPage.maxUnmapDescriptorCount, limits.maxUnmapDescriptors);
      v.setUint32(BlockLimitsPage.optimalUnmapGranularity, Math.max(1, limits.physicalBlockSize / limits.blockSize));
      return data;
    }
    case VpdPage.logicalBlockProvisioning: {
      const body = new Uint8Array(4);
      // LBPU (UNMAP supported), LBPRZ when trimmed blocks read as zeros.
      body[1] = 0x80 | (limits.trimReadsZeros ? 0x04 : 0);
      body[2] = limits.thin ? 0x02 : 0x00; // provisioning type: thin or full
      return withHeader(page, body);
    }
    default:
      return undefined;
  }
}

function withHeader(page: number, body: Uint8Array): Uint8Array {
  const data = new Uint8Array(4 + body.length);
  data[0] = PERIPHERAL_DIRECT_ACCESS;
  data[1] = page;
  data[2] = body.length >> 8;
  data[3] = body.length & 0xff;
  data.set(body, 4);
  return data;
}

/** Writes `text` space-padded into `target[offset…offset + size)` (SPC ASCII fields). */
function ascii(target: Uint8Array, offset: number, size: number, text: string): void {
  for (let i = 0; i < size; i++) target[offset + i] = i < text.length ? text.charCodeAt(i) & 0x7f : 0x20;
}
