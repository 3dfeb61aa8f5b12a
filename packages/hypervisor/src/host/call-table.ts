/**
 * The hypercall table: call code → handler and the privilege the caller must hold (TLFS 2.0
 * Appendix B and §5.2.3; hyperv-tlfs.md §1-2). One table drives the dispatcher (STYLE.md rule 9).
 */
import { HvCallCode, type HvCallCodeValue } from '../abi/call-codes.ts';
import { HvPrivilege } from '../abi/partition.ts';
import type { CallContext, CallOutcome } from './call-context.ts';
import { depositMemory, getMemoryBalance, mapGpaPages, unmapGpaPages, withdrawMemory } from './calls/memory-calls.ts';
import {
  createPartition,
  deletePartition,
  finalizePartition,
  getNextChildPartition,
  getPartitionId,
  getPartitionProperty,
  initializePartition,
  setPartitionProperty,
} from './calls/partition-calls.ts';
import { getChildMemory } from './calls/child-memory-call.ts';
import { enableDirectEventsCall, getDirectEventCells, getSignalCell } from './calls/direct-event-calls.ts';
import { connectPort, createPort, deletePort, disconnectPort, postMessage, signalEvent } from './calls/port-calls.ts';
import { createVp, deleteVp, getVpRegisters, installIntercept, setVpRegisters } from './calls/vp-calls.ts';

/** One table entry. */
export interface CallEntry {
  readonly name: string;
  readonly handler: (ctx: CallContext) => CallOutcome;
  /** Privilege bits the caller must hold (0n: none beyond the target rules). */
  readonly privilege: bigint;
}

const P = HvPrivilege;
const entry = (name: string, handler: CallEntry['handler'], privilege = 0n): CallEntry => ({ name, handler, privilege });

/** The table. "Operating on children" calls need CreatePartitions (TLFS 2.0 §5.2.3). */
export const CALL_TABLE: Readonly<Record<HvCallCodeValue, CallEntry>> = Object.freeze({
  [HvCallCode.CreatePartition]: entry('CreatePartition', createPartition, P.CreatePartitions),
  [HvCallCode.InitializePartition]: entry('InitializePartition', initializePartition, P.CreatePartitions),
  [HvCallCode.FinalizePartition]: entry('FinalizePartition', finalizePartition, P.CreatePartitions),
  [HvCallCode.DeletePartition]: entry('DeletePartition', deletePartition, P.CreatePartitions),
  [HvCallCode.GetPartitionProperty]: entry('GetPartitionProperty', getPartitionProperty),
  [HvCallCode.SetPartitionProperty]: entry('SetPartitionProperty', setPartitionProperty, P.CreatePartitions),
  [HvCallCode.GetPartitionId]: entry('GetPartitionId', getPartitionId, P.AccessPartitionId),
  [HvCallCode.GetNextChildPartition]: entry('GetNextChildPartition', getNextChildPartition, P.CreatePartitions),
  [HvCallCode.DepositMemory]: entry('DepositMemory', depositMemory, P.AccessMemoryPool),
  [HvCallCode.WithdrawMemory]: entry('WithdrawMemory', withdrawMemory, P.AccessMemoryPool),
  [HvCallCode.GetMemoryBalance]: entry('GetMemoryBalance', getMemoryBalance, P.AccessMemoryPool),
  [HvCallCode.MapGpaPages]: entry('MapGpaPages', mapGpaPages, P.CreatePartitions),
  [HvCallCode.UnmapGpaPages]: entry('UnmapGpaPages', unmapGpaPages, P.CreatePartitions),
  [HvCallCode.InstallIntercept]: entry('InstallIntercept', installIntercept, P.CreatePartitions),
  [HvCallCode.CreateVp]: entry('CreateVp', createVp, P.CreatePartitions),
  [HvCallCode.DeleteVp]: entry('DeleteVp', deleteVp, P.CreatePartitions),
  [HvCallCode.GetVpRegisters]: entry('GetVpRegisters', getVpRegisters),
  [HvCallCode.SetVpRegisters]: entry('SetVpRegisters', setVpRegisters, P.CreatePartitions),
  [HvCallCode.DeletePort]: entry('DeletePort', deletePort, P.CreatePort),
  [HvCallCode.DisconnectPort]: entry('DisconnectPort', disconnectPort, P.ConnectPort),
  [HvCallCode.PostMessage]: entry('PostMessage', postMessage, P.PostMessages),
  [HvCallCode.SignalEvent]: entry('SignalEvent', signalEvent, P.SignalEvents),
  [HvCallCode.CreatePort]: entry('CreatePort', createPort, P.CreatePort),
  [HvCallCode.ConnectPort]: entry('ConnectPort', connectPort, P.ConnectPort),
  [HvCallCode.ViridianGetChildMemory]: entry('ViridianGetChildMemory', getChildMemory, P.CreatePartitions),
  [HvCallCode.ViridianEnableDirectEvents]: entry('ViridianEnableDirectEvents', enableDirectEventsCall),
  [HvCallCode.ViridianGetSignalCell]: entry('ViridianGetSignalCell', getSignalCell, P.SignalEvents),
  [HvCallCode.ViridianGetDirectEventCells]: entry('ViridianGetDirectEventCells', getDirectEventCells),
});
