/**
 * Byte layouts of hypercall inputs and outputs (TLFS 2.0 per-call pages; hyperv-tlfs.md §2, §5),
 * as frozen offset tables with their `SIZE` (checked against CALL_SHAPES in `abi.test.ts`).
 *
 * Partition ids are u64; "u32 + pad" fields keep 8-byte alignment as the TLFS structs do.
 */

/** CreatePartition input; output is the new PartitionId (u64). */
export const CreatePartitionInput = Object.freeze({ FLAGS: 0, PROXIMITY: 8, SIZE: 16 });
/** Initialize/Finalize/DeletePartition and GetMemoryBalance input (fast-capable). */
export const PartitionIdInput = Object.freeze({ PARTITION: 0, SIZE: 8 });
/** GetPartitionProperty input; output is the value (u64). */
export const GetPropertyInput = Object.freeze({ PARTITION: 0, CODE: 8, SIZE: 16 });
/** SetPartitionProperty input. */
export const SetPropertyInput = Object.freeze({ PARTITION: 0, CODE: 8, VALUE: 16, SIZE: 24 });
/** GetNextChildPartition input; output is the next child id (0 when there is none). */
export const NextChildInput = Object.freeze({ PARENT: 0, PREVIOUS: 8, SIZE: 16 });
/** DepositMemory header (rep count = pages). */
export const DepositInput = Object.freeze({ PARTITION: 0, SIZE: 8 });
/** WithdrawMemory header (rep count = pages). */
export const WithdrawInput = Object.freeze({ PARTITION: 0, PROXIMITY: 8, SIZE: 16 });
/** GetMemoryBalance output. */
export const MemoryBalanceOutput = Object.freeze({ AVAILABLE: 0, IN_USE: 8, SIZE: 16 });
/** MapGpaPages header (rep count = pages from TARGET_GPFN). */
export const MapGpaInput = Object.freeze({ PARTITION: 0, TARGET_GPFN: 8, FLAGS: 16, SIZE: 24 });
/** UnmapGpaPages header. */
export const UnmapGpaInput = Object.freeze({ PARTITION: 0, TARGET_GPFN: 8, SIZE: 16 });
/** InstallIntercept input; PARAMETER is the I/O port for X64IoPort. */
export const InstallInterceptInput = Object.freeze({ PARTITION: 0, ACCESS: 8, TYPE: 12, PARAMETER: 16, SIZE: 24 });
/** CreateVp input. */
export const CreateVpInput = Object.freeze({ PARTITION: 0, VP: 8, PROXIMITY: 16, FLAGS: 24, SIZE: 32 });
/** DeleteVp input, and the Get/SetVpRegisters header. */
export const VpInput = Object.freeze({ PARTITION: 0, VP: 8, SIZE: 16 });
/** CreatePort input (T2 layout: PortPartition, PortId, ConnectionPartition, PortInfo). */
export const CreatePortInput = Object.freeze({
  PORT_PARTITION: 0,
  PORT_ID: 8,
  CONNECTION_PARTITION: 16,
  PORT_TYPE: 24,
  TARGET_SINT: 32,
  TARGET_VP: 36,
  BASE_FLAG: 40,
  FLAG_COUNT: 42,
  SIZE: 48,
});
/** DeletePort input. */
export const DeletePortInput = Object.freeze({ PORT_PARTITION: 0, PORT_ID: 8, SIZE: 16 });
/** ConnectPort input; PORT_TYPE is the ConnectionInfo's port type and must match the port. */
export const ConnectPortInput = Object.freeze({
  CONNECTION_PARTITION: 0,
  CONNECTION_ID: 8,
  PORT_PARTITION: 16,
  PORT_ID: 24,
  PORT_TYPE: 32,
  SIZE: 48,
});
/** DisconnectPort input. */
export const DisconnectPortInput = Object.freeze({ CONNECTION_PARTITION: 0, CONNECTION_ID: 8, SIZE: 16 });
/** PostMessage input. */
export const PostMessageInput = Object.freeze({ CONNECTION_ID: 0, MESSAGE_TYPE: 8, PAYLOAD_SIZE: 12, PAYLOAD: 16, SIZE: 256 });
/** SignalEvent input (fast): connection id u32, flag number u16, reserved u16. */
export const SignalEventInput = Object.freeze({ CONNECTION_ID: 0, FLAG_NUMBER: 4, RESERVED: 6, SIZE: 8 });
/** ViridianEnableDirectEvents input: ENABLE is 1 (opt in) or 0 (opt out); the rest is reserved, 0. */
export const EnableDirectEventsInput = Object.freeze({ ENABLE: 0, RESERVED: 4, SIZE: 8 });
/** ViridianGetSignalCell input: the caller's event connection; the rest is reserved, 0. */
export const GetSignalCellInput = Object.freeze({ CONNECTION_ID: 0, RESERVED: 4, SIZE: 8 });
/** I/O intercept message payload (HV_X64_IO_PORT_INTERCEPT_MESSAGE), after the 16-byte header. */
export const IoInterceptMessage = Object.freeze({
  VP_INDEX: 0,
  INSTRUCTION_LENGTH: 4,
  ACCESS_TYPE: 5,
  EXECUTION_STATE: 6,
  CS: 8,
  RIP: 24,
  RFLAGS: 32,
  PORT: 40,
  ACCESS_INFO: 42,
  INSTRUCTION_BYTE_COUNT: 43,
  RAX: 48,
  SIZE: 128,
});
/** Unrecoverable-exception message payload: the intercept header's VP index, plus Viridian's reason code. */
export const CrashMessage = Object.freeze({ VP_INDEX: 0, REASON: 40, EXIT_CODE: 44, SIZE: 48 });

/** Why a partition crashed (CrashMessage.REASON). */
export const CrashReason = {
  Exception: 1,
  Exit: 2,
  OutOfMemory: 3,
} as const;
/** One crash reason. */
export type CrashReasonValue = (typeof CrashReason)[keyof typeof CrashReason];
