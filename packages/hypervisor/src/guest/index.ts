/**
 * @viridian/hypervisor/guest: the guest-facing ABI and libraries, everything a VP's code (root or
 * child) uses, without the host-side hypervisor (so VP workers stay small: no pino, and rxjs only
 * through `interrupts$`).
 */

// ABI: status and call codes, control word, ids
export { HvStatus, hvStatusName } from '../abi/status.ts';
export type { HvStatusCode } from '../abi/status.ts';
export { HvCallCode, CALL_SHAPES, isHvCallCode, isFastCapable } from '../abi/call-codes.ts';
export type { HvCallCodeValue, CallShape } from '../abi/call-codes.ts';
export { encodeInput, decodeInput, encodeResult, decodeResult, MAX_REP_COUNT } from '../abi/control.ts';
export type { HypercallInput, HypercallResult } from '../abi/control.ts';
export { PARTITION_ID_INVALID, PARTITION_ID_SELF, ANY_VP, VP_INDEX_SELF, ID_24_MASK, partitionId, vpIndex, portId, connectionId, gpfn, gpfnToGpa } from '../abi/ids.ts';
export type { PartitionId, Gpa, Gpfn, VpIndex, PortId, ConnectionId } from '../abi/ids.ts';

// ABI: partitions, registers, SynIC, layouts
export { HvPrivilege, ALL_PRIVILEGES, DEFAULT_CHILD_PRIVILEGES, HvPartitionProperty, HvMapGpaFlags, LEGAL_MAP_FLAGS, HvInterceptType, HvInterceptAccess } from '../abi/partition.ts';
export type { HvPartitionPropertyCode } from '../abi/partition.ts';
export { HvRegister, STRING_REGISTERS, RegisterAssocLayout, MAX_STRING_REGISTER_BYTES } from '../abi/registers.ts';
export {
  HvSynicMsr,
  SINT_COUNT,
  HYPERVISOR_SINT,
  SintRegister,
  SYNIC_ENABLE,
  HvMessageLayout,
  MESSAGE_FLAG_PENDING,
  SiefLayout,
  SIMP_SIZE,
  HvMessageType,
  HV_MESSAGE_TYPE_HYPERVISOR_MASK,
  HvPortType,
  PORT_MESSAGE_BUFFERS,
} from '../abi/synic.ts';
export * as HvInputLayouts from '../abi/inputs.ts';
export { CrashReason } from '../abi/inputs.ts';
export type { CrashReasonValue } from '../abi/inputs.ts';
export { PAGE_SIZE, VpPageLayout, VpExitKind } from '../abi/vp-page.ts';
export type { VpExitKindValue } from '../abi/vp-page.ts';
export { HvCosts } from '../abi/costs.ts';
export { DirectEventCellLayout, directEventCellBytes, takeCellFlags, SIGNAL_CELL_MAIL, DIRECT_EVENT_CELLS_MAIL } from '../abi/direct-events.ts';
export type { DirectEventCellInfo, DirectEventCellsMail, SignalCellMail } from '../abi/direct-events.ts';

// Guest runtime: the VP context, exits, hypercall client, SynIC and interrupts
export { VpContext } from './vp-context.ts';
export type { VpEntry } from './vp-context.ts';
export { VpExits, atomicsTrap, EXIT_SPIN_ITERATIONS } from './vp-exits.ts';
export type { ExitTrap, MsrValue } from './vp-exits.ts';
export { HypercallClient, SELF } from './hypercall-client.ts';
export type { StatusWith, PortSpec, RegisterValue } from './hypercall-client.ts';
export { SynicClient } from './synic-client.ts';
export type { HvMessage, SynicPlacement } from './synic-client.ts';
export { InterruptDoorbell } from './interrupts.ts';
export { DirectEventReceiver } from './direct-event-receiver.ts';
export type { DirectEventCalls } from './direct-event-receiver.ts';
export { SignalCells } from './signal-cells.ts';
export { workerMail, queueMail, isMail } from './hypervisor-mail.ts';
export type { MailReader } from './hypervisor-mail.ts';
export { interrupts$ } from './interrupts-observable.ts';

// Parent-side library: children, intercepts, crashes
export { createChildPartition, ChildPartition, DEFAULT_CHILD_GRANTS, parseIoIntercept, parseChildCrash } from './child-partitions.ts';
export type { ChildPartitionOptions, IoIntercept, ChildCrash } from './child-partitions.ts';

// Errors
export { HypervisorError, HypercallFailedError, VpBootError } from '../errors.ts';
