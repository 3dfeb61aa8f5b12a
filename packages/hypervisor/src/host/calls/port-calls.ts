/**
 * Port, connection and IPC hypercalls (TLFS 2.0 §14; hyperv-tlfs.md §5): CreatePort, DeletePort,
 * ConnectPort, DisconnectPort, PostMessage, SignalEvent.
 *
 * A partition posts or signals only through its own connections (looked up in the caller's table
 * only: anyone else's id is INVALID_CONNECTION_ID), and a connection reaches only the port that
 * named the caller's partition as its ConnectionPartition. PostMessage copies the message out of
 * the caller's input once and holds one of the port's 16 buffers until delivery; SignalEvent needs
 * no buffer and never fails for lack of resources.
 */
import { ANY_VP, ID_24_MASK } from '../../abi/ids.ts';
import { ConnectPortInput, CreatePortInput, DeletePortInput, DisconnectPortInput, PostMessageInput, SignalEventInput } from '../../abi/inputs.ts';
import { HvStatus } from '../../abi/status.ts';
import { HvMessageLayout, HV_MESSAGE_TYPE_HYPERVISOR_MASK, HvPortType, PORT_MESSAGE_BUFFERS, SINT_COUNT, SiefLayout } from '../../abi/synic.ts';
import { resolveTarget, type CallContext, type CallOutcome } from '../call-context.ts';
import { HvCosts } from '../memory-pool.ts';
import type { Partition } from '../partition.ts';
import type { PortInfo } from '../ports.ts';
import { revokeCell } from '../direct-events.ts';
import type { Vp } from '../vp.ts';

export function createPort(ctx: CallContext): CallOutcome {
  const { input, core } = ctx;
  const owner = resolveTarget(ctx, input.partition(CreatePortInput.PORT_PARTITION), 'child-or-self');
  if (typeof owner === 'number') return owner;
  if (owner.state.kind !== 'active') return HvStatus.INVALID_PARTITION_STATE;
  const id = input.u32(CreatePortInput.PORT_ID);
  if ((id & ~ID_24_MASK) !== 0) return HvStatus.INVALID_PARAMETER;
  if (owner.ports.has(id)) return HvStatus.INVALID_PORT_ID;
  const connectionPartition = input.partition(CreatePortInput.CONNECTION_PARTITION);
  if (!core.partitions.has(connectionPartition)) return HvStatus.INVALID_PARTITION_ID;
  const info = parsePortInfo(ctx);
  if (typeof info === 'number') return info;
  if (!owner.pool.draw(HvCosts.PORT)) return HvStatus.INSUFFICIENT_MEMORY;
  owner.ports.set(id, { id, owner, connectionPartition, info, buffersInUse: 0, deleted: false });
  return HvStatus.SUCCESS;
}

export function deletePort(ctx: CallContext): CallOutcome {
  const { input } = ctx;
  const owner = resolveTarget(ctx, input.partition(DeletePortInput.PORT_PARTITION), 'child-or-self');
  if (typeof owner === 'number') return owner;
  const port = owner.ports.get(input.u32(DeletePortInput.PORT_ID));
  if (!port) return HvStatus.INVALID_PORT_ID;
  ctx.core.deletePort(port);
  return HvStatus.SUCCESS;
}

export function connectPort(ctx: CallContext): CallOutcome {
  const { input, core } = ctx;
  const owner = resolveTarget(ctx, input.partition(ConnectPortInput.CONNECTION_PARTITION), 'child-or-self');
  if (typeof owner === 'number') return owner;
  if (owner.state.kind !== 'active') return HvStatus.INVALID_PARTITION_STATE;
  const id = input.u32(ConnectPortInput.CONNECTION_ID);
  if ((id & ~ID_24_MASK) !== 0) return HvStatus.INVALID_PARAMETER;
  if (owner.connections.has(id)) return HvStatus.INVALID_CONNECTION_ID;
  const portPartition = core.partitions.get(input.partition(ConnectPortInput.PORT_PARTITION));
  if (!portPartition) return HvStatus.INVALID_PARTITION_ID;
  const port = portPartition.ports.get(input.u32(ConnectPortInput.PORT_ID));
  if (!port) return HvStatus.INVALID_PORT_ID;
  if (port.connectionPartition !== owner.id) return HvStatus.ACCESS_DENIED;
  const type = input.u32(ConnectPortInput.PORT_TYPE);
  if (type !== (port.info.kind === 'message' ? HvPortType.Message : HvPortType.Event)) return HvStatus.INVALID_PARAMETER;
  if (!owner.pool.draw(HvCosts.CONNECTION)) return HvStatus.INSUFFICIENT_MEMORY;
  owner.connections.set(id, { id, owner, port });
  return HvStatus.SUCCESS;
}

export function disconnectPort(ctx: CallContext): CallOutcome {
  const { input } = ctx;
  const owner = resolveTarget(ctx, input.partition(DisconnectPortInput.CONNECTION_PARTITION), 'child-or-self');
  if (typeof owner === 'number') return owner;
  const id = input.u32(DisconnectPortInput.CONNECTION_ID);
  const connection = owner.connections.get(id);
  if (!connection) return HvStatus.INVALID_CONNECTION_ID;
  owner.connections.delete(id);
  // The partition may no longer signal this port: its cell goes (direct-events.ts).
  revokeCell(ctx.core, connection.port);
  owner.pool.release(HvCosts.CONNECTION);
  return HvStatus.SUCCESS;
}

export function postMessage(ctx: CallContext): CallOutcome {
  const { input, caller, core } = ctx;
  const connection = caller.connections.get(input.u32(PostMessageInput.CONNECTION_ID));
  if (!connection) return HvStatus.INVALID_CONNECTION_ID;
  const type = input.u32(PostMessageInput.MESSAGE_TYPE);
  const size = input.u32(PostMessageInput.PAYLOAD_SIZE);
  if (type === 0 || (type & HV_MESSAGE_TYPE_HYPERVISOR_MASK) !== 0 || size > HvMessageLayout.PAYLOAD_MAX) return HvStatus.INVALID_PARAMETER;
  const port = connection.port;
  if (port.deleted || port.info.kind !== 'message' || port.owner.state.kind !== 'active') return HvStatus.INVALID_PORT_ID;
  const target = targetVp(port.owner, port.info.vp, (vp) => vp.synic.messagesEnabled);
  if (typeof target === 'number') return target;
  if (port.buffersInUse >= PORT_MESSAGE_BUFFERS) return HvStatus.INSUFFICIENT_BUFFERS;
  port.buffersInUse++;
  const payload = input.bytes.slice(PostMessageInput.PAYLOAD, PostMessageInput.PAYLOAD + size);
  target.synic.enqueue(port.info.sint, { type, sender: BigInt(port.id), payload, port }, port.owner.memory);
  core.metrics.messagesPosted++;
  return HvStatus.SUCCESS;
}

export function signalEvent(ctx: CallContext): CallOutcome {
  const { input, caller, core } = ctx;
  const connection = caller.connections.get(input.u32(SignalEventInput.CONNECTION_ID));
  if (!connection) return HvStatus.INVALID_CONNECTION_ID;
  if (input.u16(SignalEventInput.RESERVED) !== 0) return HvStatus.INVALID_PARAMETER;
  const port = connection.port;
  if (port.deleted || port.info.kind !== 'event' || port.owner.state.kind !== 'active') return HvStatus.INVALID_PORT_ID;
  const flag = input.u16(SignalEventInput.FLAG_NUMBER);
  if (flag >= port.info.flagCount) return HvStatus.INVALID_PARAMETER;
  const target = targetVp(port.owner, port.info.vp, (vp) => vp.synic.eventsEnabled);
  if (typeof target === 'number') return target;
  if (target.synic.masked(port.info.sint)) return HvStatus.INVALID_SYNIC_STATE;
  if (!target.synic.signalUnchecked(port.info.sint, port.info.baseFlag + flag, port.owner.memory!)) return HvStatus.INVALID_SYNIC_STATE;
  core.metrics.eventsSignalled++;
  return HvStatus.SUCCESS;
}

/** The VP a port delivers to: its named VP, or for HV_ANY_VP the first VP that can take it. */
function targetVp(owner: Partition, index: number, ready: (vp: Vp) => boolean): Vp | number {
  if (index === ANY_VP) {
    for (const vp of owner.vps.values()) if (ready(vp)) return vp;
    return owner.vps.size === 0 ? HvStatus.INVALID_VP_INDEX : HvStatus.INVALID_SYNIC_STATE;
  }
  const vp = owner.vps.get(index);
  if (!vp) return HvStatus.INVALID_VP_INDEX;
  return ready(vp) ? vp : HvStatus.INVALID_SYNIC_STATE;
}

function parsePortInfo(ctx: CallContext): PortInfo | number {
  const { input } = ctx;
  const type = input.u32(CreatePortInput.PORT_TYPE);
  const sint = input.u32(CreatePortInput.TARGET_SINT);
  const vp = input.u32(CreatePortInput.TARGET_VP);
  if (sint < 1 || sint >= SINT_COUNT) return HvStatus.INVALID_PARAMETER; // SINT0 is the hypervisor's
  if (vp !== ANY_VP && vp >= ctx.core.limits.maxVpsPerPartition) return HvStatus.INVALID_VP_INDEX;
  if (type === HvPortType.Message) return { kind: 'message', sint, vp };
  if (type === HvPortType.Event) {
    const baseFlag = input.u16(CreatePortInput.BASE_FLAG);
    const flagCount = input.u16(CreatePortInput.FLAG_COUNT);
    if (flagCount === 0 || baseFlag + flagCount > SiefLayout.FLAGS_PER_SINT) return HvStatus.INVALID_PARAMETER;
    return { kind: 'event', sint, vp, baseFlag, flagCount };
  }
  return HvStatus.INVALID_PARAMETER; // monitor and doorbell ports are not implemented
}
