/**
 * HV_STATUS codes (TLFS 2.0 Appendix C, Linux `hvgdk_mini.h`; shared/reference/hyperv-tlfs.md §2).
 *
 * Every hypercall, and every synthetic MSR or I/O exit, completes with one of these. The values are
 * protocol numbers: never renumber them.
 */

/** The HV_STATUS values Viridian returns. */
export const HvStatus = {
  SUCCESS: 0x0,
  INVALID_HYPERCALL_CODE: 0x2,
  INVALID_HYPERCALL_INPUT: 0x3,
  INVALID_ALIGNMENT: 0x4,
  INVALID_PARAMETER: 0x5,
  ACCESS_DENIED: 0x6,
  INVALID_PARTITION_STATE: 0x7,
  OPERATION_DENIED: 0x8,
  UNKNOWN_PROPERTY: 0x9,
  PROPERTY_VALUE_OUT_OF_RANGE: 0xa,
  INSUFFICIENT_MEMORY: 0xb,
  PARTITION_TOO_DEEP: 0xc,
  INVALID_PARTITION_ID: 0xd,
  INVALID_VP_INDEX: 0xe,
  NOT_FOUND: 0x10,
  INVALID_PORT_ID: 0x11,
  INVALID_CONNECTION_ID: 0x12,
  INSUFFICIENT_BUFFERS: 0x13,
  NOT_ACKNOWLEDGED: 0x14,
  INVALID_VP_STATE: 0x15,
  INVALID_SYNIC_STATE: 0x18,
  OBJECT_IN_USE: 0x19,
  NO_RESOURCES: 0x1d,
  FEATURE_UNAVAILABLE: 0x1e,
  INVALID_REGISTER_VALUE: 0x50,
  OPERATION_FAILED: 0x71,
} as const;

/** One HV_STATUS value. */
export type HvStatusCode = (typeof HvStatus)[keyof typeof HvStatus];

const NAMES = new Map<number, string>(Object.entries(HvStatus).map(([name, value]) => [value, name]));

/** The name of a status (`'SUCCESS'`), or `'UNRECOGNIZED(0x..)'` for a value not in the table. */
export function hvStatusName(status: number): string {
  return NAMES.get(status) ?? `UNRECOGNIZED(0x${status.toString(16)})`;
}
