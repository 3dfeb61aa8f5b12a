/**
 * SCSI numbers and layouts the synthetic SCSI controller speaks (SPC-4, SBC-3): operation codes,
 * status, sense keys and additional sense codes, fixed-format sense data, VPD page codes and the
 * byte offsets of the CDBs and data structures both the target (storvsp) and the initiator
 * (storvsc) build or parse. SCSI fields are big-endian. Protocol file: numbers and offsets only.
 */

/** Operation codes (the first CDB byte). */
export const ScsiOp = Object.freeze({
  testUnitReady: 0x00,
  requestSense: 0x03,
  read6: 0x08,
  write6: 0x0a,
  inquiry: 0x12,
  modeSelect6: 0x15,
  modeSense6: 0x1a,
  startStopUnit: 0x1b,
  readCapacity10: 0x25,
  read10: 0x28,
  write10: 0x2a,
  synchronizeCache10: 0x35,
  unmap: 0x42,
  modeSense10: 0x5a,
  read16: 0x88,
  write16: 0x8a,
  synchronizeCache16: 0x91,
  /** SERVICE ACTION IN (16); service action 0x10 is READ CAPACITY (16). */
  serviceActionIn16: 0x9e,
  reportLuns: 0xa0,
} as const);

/** Service actions of SERVICE ACTION IN (16) (byte 1, low 5 bits). */
export const ServiceAction = Object.freeze({
  readCapacity16: 0x10,
} as const);

/** SCSI status byte. */
export const ScsiStatus = Object.freeze({
  good: 0x00,
  checkCondition: 0x02,
  busy: 0x08,
  taskSetFull: 0x28,
} as const);

/** Sense keys. */
export const SenseKey = Object.freeze({
  noSense: 0x0,
  recoveredError: 0x1,
  notReady: 0x2,
  mediumError: 0x3,
  hardwareError: 0x4,
  illegalRequest: 0x5,
  unitAttention: 0x6,
  dataProtect: 0x7,
  abortedCommand: 0xb,
} as const);

/** Additional sense code and qualifier pairs (`asc << 8 | ascq`). */
export const AdditionalSense = Object.freeze({
  none: 0x0000,
  writeError: 0x0c00,
  unrecoveredReadError: 0x1100,
  parameterListLengthError: 0x1a00,
  invalidCommandOperationCode: 0x2000,
  lbaOutOfRange: 0x2100,
  invalidFieldInCdb: 0x2400,
  logicalUnitNotSupported: 0x2500,
  invalidFieldInParameterList: 0x2600,
  writeProtected: 0x2700,
  spaceAllocationFailedWriteProtect: 0x2707,
  mediumFormatCorrupted: 0x3100,
  savingParametersNotSupported: 0x3900,
  internalTargetFailure: 0x4400,
} as const);

/** Fixed-format sense data (response code 0x70), 18 bytes. */
export const FixedSense = Object.freeze({
  /** u8: 0x70 current error, 0x71 deferred; bit 7 VALID. */
  responseCode: 0,
  /** u8: low 4 bits sense key. */
  senseKey: 2,
  /** u32 information. */
  information: 3,
  /** u8: bytes after this one (10). */
  additionalLength: 7,
  asc: 12,
  ascq: 13,
  SIZE: 18,
  CURRENT: 0x70,
});

/** VPD page codes (INQUIRY with EVPD). */
export const VpdPage = Object.freeze({
  supportedPages: 0x00,
  unitSerialNumber: 0x80,
  deviceIdentification: 0x83,
  blockLimits: 0xb0,
  logicalBlockProvisioning: 0xb2,
} as const);

/** Mode page codes. */
export const ModePage = Object.freeze({
  caching: 0x08,
  control: 0x0a,
  all: 0x3f,
} as const);

/** Peripheral device type of a disk (direct access block device). */
export const PERIPHERAL_DIRECT_ACCESS = 0x00;

/** CDB length of each operation-code group (`opcode >> 5`); 0 for vendor-specific / reserved groups. */
export const CDB_LENGTH_BY_GROUP: readonly number[] = Object.freeze([6, 10, 10, 0, 16, 12, 0, 0]);

/** Standard INQUIRY data: the 36 bytes every target returns. */
export const InquiryData = Object.freeze({
  peripheral: 0,
  rmb: 1,
  version: 2,
  /** Low 4 bits: response data format (2); bit 4 HISUP. */
  responseFormat: 3,
  additionalLength: 4,
  flags5: 5,
  flags6: 6,
  /** Bit 1: CMDQUE. */
  flags7: 7,
  vendor: 8,
  VENDOR_SIZE: 8,
  product: 16,
  PRODUCT_SIZE: 16,
  revision: 32,
  REVISION_SIZE: 4,
  SIZE: 36,
  /** SPC-4. */
  VERSION_SPC4: 0x06,
});

/** READ CAPACITY (16) parameter data. */
export const ReadCapacity16Data = Object.freeze({
  /** u64: the last LBA. */
  lastLba: 0,
  /** u32. */
  blockLength: 8,
  /** u8: bits 3..0 logical blocks per physical block exponent. */
  exponent: 13,
  /** u16: bit 15 LBPME, bit 14 LBPRZ, bits 13..0 lowest aligned LBA. */
  provisioning: 14,
  SIZE: 32,
});

/** READ CAPACITY (10) parameter data. */
export const ReadCapacity10Data = Object.freeze({
  lastLba: 0,
  blockLength: 4,
  SIZE: 8,
});

/** UNMAP parameter list: an 8-byte header, then 16-byte block descriptors. */
export const UnmapParameters = Object.freeze({
  /** u16: bytes after this field. */
  dataLength: 0,
  /** u16: bytes of block descriptors. */
  descriptorDataLength: 2,
  HEADER_SIZE: 8,
  /** Descriptor: u64 LBA, u32 block count, 4 reserved. */
  descriptorLba: 0,
  descriptorCount: 8,
  DESCRIPTOR_SIZE: 16,
});

/** The VPD Block Limits page (0xB0), 64 bytes. */
export const BlockLimitsPage = Object.freeze({
  pageLength: 2,
  /** u16, in logical blocks. */
  optimalTransferGranularity: 6,
  /** u32, in logical blocks. */
  maxTransferLength: 8,
  optimalTransferLength: 12,
  maxUnmapLbaCount: 20,
  maxUnmapDescriptorCount: 24,
  optimalUnmapGranularity: 28,
  SIZE: 64,
});

/** REPORT LUNS parameter data: u32 list length, 4 reserved, then 8-byte LUNs. */
export const ReportLunsData = Object.freeze({
  listLength: 0,
  HEADER_SIZE: 8,
  ENTRY_SIZE: 8,
});
