/**
 * One child's VMBus over the hypervisor's SynIC (vmbus-wire.md §3.4-§3.5, §4.1, §6.4), set up by
 * the root as its parent, the way Hyper-V's VMBus server wires a guest:
 * - guest → host messages: a message port in the root (on {@link ROOT_MESSAGE_SINT}), reached from
 *   the child through connection ids 4 (INITIATE_CONTACT from 5.0 on) and 1 (older versions and
 *   later messages);
 * - host → guest messages: a message port in the child on SINT 2, reached by a root connection;
 * - host → guest channel interrupts: an event port in the child on SINT 2 whose flag number is the
 *   channel id, reached by a root connection (HvSignalEvent with flag = relid);
 * - guest → host channel interrupts: per channel, an event port in the root on
 *   {@link ROOT_EVENT_SINT} with one flag, reached from the child through the offer's connection
 *   id (the channel id).
 * Every port and connection is made with the root's hypercalls; the child can post and signal only
 * through the connections made for it (ARCHITECTURE.md "Isolation" 5).
 */
import { HvStatus, hvStatusName, type HypercallClient } from '@viridian/hypervisor';
import { VMBUS_MESSAGE_SINT, VMBUS_MESSAGE_TYPE, VmbusConnectionId, type ChannelId } from '@viridian/vmbus';
import type { HostTransport } from '../vmbus/host-transport.ts';

/** The root VP's SINT for VMBus messages from its children. */
export const ROOT_MESSAGE_SINT = 2;
/** The root VP's SINT for channel interrupts from its children. */
export const ROOT_EVENT_SINT = 3;
/** Event flags one SINT holds (the SIEFP slot is 2048 bits). */
export const EVENT_FLAGS_PER_SINT = 2048;

/** The child's ports (ids in the child's port space). */
const CHILD_MESSAGE_PORT = 1;
const CHILD_EVENT_PORT = 2;

/** Ids the root allocates for one link, unique across its children. */
export interface LinkIds {
  /** The root port receiving this child's VMBus messages. */
  readonly rootMessagePort: number;
  /** The root's connections to the child's message and event ports. */
  readonly toChildMessages: number;
  readonly toChildEvents: number;
}

/** A failed hypercall while wiring a child (a bug or exhaustion in the root, not guest input). */
export class LinkSetupError extends Error {
  readonly code = 'VIRIDIAN_VMBUS_LINK_SETUP';
  constructor(step: string, status: number) {
    super(`${step} failed: ${hvStatusName(status)}`);
    this.name = 'LinkSetupError';
  }
}

function check(step: string, status: number): void {
  if (status !== HvStatus.SUCCESS) throw new LinkSetupError(step, status);
}

export class SynicVmbusLink implements HostTransport {
  /** Root event ports made for this child's channels: channel → port id. */
  private readonly channelPorts = new Map<ChannelId, number>();

  private constructor(
    private readonly hc: HypercallClient,
    readonly rootId: bigint,
    readonly childId: bigint,
    readonly ids: LinkIds,
  ) {}

  /**
   * Makes the ports and connections of a child's VMBus.
   * @throws {LinkSetupError} when a hypercall fails
   */
  static create(hc: HypercallClient, rootId: bigint, childId: bigint, ids: LinkIds): SynicVmbusLink {
    check('CreatePort (root message port)', hc.createPort(rootId, ids.rootMessagePort, childId, { type: 'message', sint: ROOT_MESSAGE_SINT, vp: 0 }));
    check('ConnectPort (child contact connection)', hc.connectPort(childId, VmbusConnectionId.message4, rootId, ids.rootMessagePort, 'message'));
    check('ConnectPort (child message connection)', hc.connectPort(childId, VmbusConnectionId.message, rootId, ids.rootMessagePort, 'message'));
    check('CreatePort (child message port)', hc.createPort(childId, CHILD_MESSAGE_PORT, rootId, { type: 'message', sint: VMBUS_MESSAGE_SINT, vp: 0 }));
    check('ConnectPort (root message connection)', hc.connectPort(rootId, ids.toChildMessages, childId, CHILD_MESSAGE_PORT, 'message'));
    check('CreatePort (child event port)', hc.createPort(childId, CHILD_EVENT_PORT, rootId, { type: 'event', sint: VMBUS_MESSAGE_SINT, vp: 0, baseFlag: 0, flagCount: EVENT_FLAGS_PER_SINT }));
    check('ConnectPort (root event connection)', hc.connectPort(rootId, ids.toChildEvents, childId, CHILD_EVENT_PORT, 'event'));
    return new SynicVmbusLink(hc, rootId, childId, ids);
  }

  /**
   * Makes the guest → host interrupt path of a channel: a root event port with one flag
   * (`rootFlag` on {@link ROOT_EVENT_SINT}) and the child's connection `connectionId` to it.
   * @throws {LinkSetupError}
   */
  connectChannel(channel: ChannelId, connectionId: number, rootPort: number, rootFlag: number): void {
    check('CreatePort (channel event port)', this.hc.createPort(this.rootId, rootPort, this.childId, { type: 'event', sint: ROOT_EVENT_SINT, vp: 0, baseFlag: rootFlag, flagCount: 1 }));
    check('ConnectPort (channel connection)', this.hc.connectPort(this.childId, connectionId, this.rootId, rootPort, 'event'));
    this.channelPorts.set(channel, rootPort);
  }

  /**
   * Removes a channel's interrupt path (after a rescind was released, or when the child is gone).
   * The child's connection may already be gone with the child; the root's port is always deleted.
   */
  disconnectChannel(channel: ChannelId, connectionId: number): void {
    const port = this.channelPorts.get(channel);
    if (port === undefined) return;
    this.hc.disconnectPort(this.childId, connectionId);
    this.hc.deletePort(this.rootId, port);
    this.channelPorts.delete(channel);
  }

  /**
   * Removes everything the link made in the root (its ports and connections), so their ids and
   * pool pages can serve another child. Statuses are ignored: the child's side may be gone already.
   */
  close(connectionOf: (channel: ChannelId) => number): void {
    for (const channel of [...this.channelPorts.keys()]) this.disconnectChannel(channel, connectionOf(channel));
    this.hc.disconnectPort(this.rootId, this.ids.toChildMessages);
    this.hc.disconnectPort(this.rootId, this.ids.toChildEvents);
    this.hc.deletePort(this.rootId, this.ids.rootMessagePort);
  }

  postMessage(bytes: Uint8Array, _targetVp: number): boolean {
    // One message port on the child's VP 0 for now: the target VP is where its SINT 2 lives.
    const status = this.hc.postMessage(this.ids.toChildMessages, VMBUS_MESSAGE_TYPE, bytes);
    return status !== HvStatus.INSUFFICIENT_BUFFERS;
  }

  signalChannel(channel: ChannelId, _targetVp: number): void {
    this.hc.signalEvent(this.ids.toChildEvents, channel);
  }
}
