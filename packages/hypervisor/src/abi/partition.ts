/**
 * Partition-level protocol numbers: the privilege mask, property codes, GPA map flags and intercept
 * types (TLFS 2.0 §5.2, §8.2, §9.1; hyperv-tlfs.md §1, §3, §4).
 */

/** Privilege mask bits (HvPartitionPropertyPrivilegeFlags), as bigints over the 64-bit mask. */
export const HvPrivilege = {
  AccessVpRunTimeMsr: 1n << 0n,
  AccessPartitionReferenceCounter: 1n << 1n,
  AccessSynicMsrs: 1n << 2n,
  AccessSyntheticTimerMsrs: 1n << 3n,
  AccessApicMsrs: 1n << 4n,
  AccessHypercallMsrs: 1n << 5n,
  AccessVpIndex: 1n << 6n,
  CreatePartitions: 1n << 32n,
  AccessPartitionId: 1n << 33n,
  AccessMemoryPool: 1n << 34n,
  AdjustMessageBuffers: 1n << 35n,
  PostMessages: 1n << 36n,
  SignalEvents: 1n << 37n,
  CreatePort: 1n << 38n,
  ConnectPort: 1n << 39n,
  AccessStats: 1n << 40n,
  Debugging: 1n << 43n,
  CpuManagement: 1n << 44n,
} as const;

/** Every privilege: the root's mask. */
export const ALL_PRIVILEGES = 0xffff_ffff_ffff_ffffn;
/** A new child's default mask: every MSR bit (low 32), no hypercall bit (TLFS 2.0 §5.2.3). */
export const DEFAULT_CHILD_PRIVILEGES = 0x0000_0000_ffff_ffffn;

/** Partition property codes (HV_PARTITION_PROPERTY_CODE), plus Viridian's own in 0x000F_xxxx. */
export const HvPartitionProperty = {
  PrivilegeFlags: 0x0001_0000,
  CpuReserve: 0x0002_0001,
  CpuCap: 0x0002_0002,
  CpuWeight: 0x0002_0003,
  /** Viridian: the size of the GPA space in pages (the hot-add ceiling); settable while Uninitialized. */
  GpaSpacePages: 0x000f_0000,
  /** Viridian: each VP worker's heap limit in MiB (`resourceLimits.maxOldGenerationSizeMb`); settable while Uninitialized. */
  VpHeapLimitMb: 0x000f_0001,
} as const;

/** One property code. */
export type HvPartitionPropertyCode = (typeof HvPartitionProperty)[keyof typeof HvPartitionProperty];

/** GPA access rights for MapGpaPages (HV_MAP_GPA_*). */
export const HvMapGpaFlags = {
  Readable: 0x1,
  Writable: 0x2,
  Executable: 0x4,
} as const;

/** The legal x64 combinations: RWX, R-X, RW-, R-- and --- (no access). */
export const LEGAL_MAP_FLAGS: ReadonlySet<number> = new Set([0x7, 0x5, 0x3, 0x1, 0x0]);

/** Intercept types (HV_INTERCEPT_TYPE); Viridian implements I/O port intercepts only. */
export const HvInterceptType = {
  X64IoPort: 0,
  X64Msr: 1,
  X64Cpuid: 2,
  Exception: 3,
} as const;

/** Intercept access mask (HV_INTERCEPT_ACCESS_TYPE_MASK). */
export const HvInterceptAccess = {
  None: 0,
  Read: 1,
  Write: 2,
  Execute: 4,
} as const;

/** Create flags for CreatePartition: none are defined, so any set bit is invalid. */
export const CREATE_PARTITION_FLAGS_VALID = 0n;
