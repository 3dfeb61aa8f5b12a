/**
 * The root's VMBus across all its children: one {@link VmbusHost} and one {@link SynicVmbusLink}
 * per child, and the routing of the root VP's SynIC interrupts to them: messages on
 * {@link ROOT_MESSAGE_SINT} by the port they arrived on, channel interrupts on
 * {@link ROOT_EVENT_SINT} by event flag.
 */
import type { Logger } from 'pino';
import { HvStatus, type VpContext } from '@viridian/hypervisor';
import type { ChannelId } from '@viridian/vmbus';
import { CHANNEL_CONNECTION_BASE, VmbusHost } from '../vmbus/vmbus-host.ts';
import type { HostTransport } from '../vmbus/host-transport.ts';
import type { VmbusDevice } from '../vmbus/vmbus-device.ts';
import { EVENT_FLAGS_PER_SINT, LinkSetupError, ROOT_EVENT_SINT, ROOT_MESSAGE_SINT, SynicVmbusLink } from './synic-vmbus-link.ts';

/** A child's VMBus as the root holds it. */
export interface ChildVmbus {
  readonly childId: bigint;
  readonly link: SynicVmbusLink;
  readonly host: VmbusHost;
  /** The root event flag of each of its channels (primaries and sub-channels). */
  readonly flags: Map<ChannelId, number>;
}

/** Port ids in the root's own port space. */
const MESSAGE_PORT_BASE = 0x100;
const CHANNEL_PORT_BASE = 0x10000;
/** Root connection ids (in the root's connection space) to children's ports. */
const ROOT_CONNECTION_BASE = 0x100;

export class RootVmbus {
  private readonly byMessagePort = new Map<number, ChildVmbus>();
  private readonly byFlag = new Map<number, { child: ChildVmbus; channel: ChannelId }>();
  private readonly freeFlags: number[] = [];
  private nextFlag = 0;
  private nextChild = 0;

  constructor(
    private readonly vp: VpContext,
    private readonly logger: Logger,
  ) {}

  /**
   * Wires a child's VMBus and returns it.
   * @throws {LinkSetupError} when a hypercall fails
   */
  attachChild(childId: bigint, guestMemory: SharedArrayBuffer, vpCount = 1): ChildVmbus {
    const index = this.nextChild++;
    const ids = { rootMessagePort: MESSAGE_PORT_BASE + index, toChildMessages: ROOT_CONNECTION_BASE + 2 * index, toChildEvents: ROOT_CONNECTION_BASE + 2 * index + 1 };
    const link = SynicVmbusLink.create(this.vp.hypercalls, this.vp.partitionId, childId, ids);
    const flags = new Map<ChannelId, number>();
    // Sub-channels get their own guest → host interrupt path, as primaries do (`addDevice`); a
    // channel's path is freed when its id is released after a hot remove, or with the child.
    const transport: HostTransport = {
      postMessage: (bytes, targetVp) => link.postMessage(bytes, targetVp),
      signalChannel: (channel, targetVp) => link.signalChannel(channel, targetVp),
      connectSubChannel: (channel, connectionId) => this.connectPath(child, channel, connectionId),
      releaseChannel: (channel, connectionId) => this.releasePath(child, channel, connectionId),
    };
    const host = new VmbusHost({ transport, guestMemory, vpCount, logger: this.logger.child({ partition: String(childId) }) });
    const child: ChildVmbus = { childId, link, host, flags };
    this.byMessagePort.set(ids.rootMessagePort, child);
    return child;
  }

  /**
   * Offers `device` to a child, with the interrupt path of its channel.
   * @throws {LinkSetupError} when the event flags of the root's SINT are exhausted or a call fails
   */
  addDevice(child: ChildVmbus, device: VmbusDevice): ChannelId {
    const channel = child.host.addDevice(device);
    try {
      this.connectPath(child, channel, CHANNEL_CONNECTION_BASE + channel);
    } catch (error) {
      void child.host.removeDevice(channel);
      throw error;
    }
    return channel;
  }

  /**
   * Makes a channel's guest → host interrupt path: a root event flag, the root's event port with
   * that flag, and the child's connection `connectionId` to it.
   * @throws {LinkSetupError} when the flags are exhausted or a call fails (nothing is kept)
   */
  private connectPath(child: ChildVmbus, channel: ChannelId, connectionId: number): void {
    const flag = this.freeFlags.pop() ?? this.nextFlag++;
    if (flag >= EVENT_FLAGS_PER_SINT) {
      this.freeFlags.push(flag);
      throw new LinkSetupError(`Allocating a channel interrupt flag (all ${EVENT_FLAGS_PER_SINT} in use)`, HvStatus.INSUFFICIENT_MEMORY);
    }
    try {
      child.link.connectChannel(channel, connectionId, CHANNEL_PORT_BASE + flag, flag);
    } catch (error) {
      this.freeFlags.push(flag);
      throw error;
    }
    this.byFlag.set(flag, { child, channel });
    child.flags.set(channel, flag);
  }

  /** Removes a channel's interrupt path (its id was released) and frees its flag. */
  private releasePath(child: ChildVmbus, channel: ChannelId, connectionId: number): void {
    child.link.disconnectChannel(channel, connectionId);
    const flag = child.flags.get(channel);
    if (flag === undefined) return;
    child.flags.delete(channel);
    this.byFlag.delete(flag);
    this.freeFlags.push(flag);
  }

  /**
   * Forgets a child (it stopped or crashed): its channels stop, the root's ports and connections
   * for it are deleted, and only then are its event flags free for another child.
   */
  async detachChild(child: ChildVmbus): Promise<void> {
    this.byMessagePort.delete(child.link.ids.rootMessagePort);
    await child.host.close();
    child.link.close((channel) => CHANNEL_CONNECTION_BASE + channel);
    for (const flag of child.flags.values()) {
      this.byFlag.delete(flag);
      this.freeFlags.push(flag);
    }
    child.flags.clear();
  }

  /** Routes a batch of the root VP's interrupts (its SINT mask) to the children's VMBus. */
  handleInterrupt(sints: number): void {
    const synic = this.vp.synic;
    if ((sints & (1 << ROOT_MESSAGE_SINT)) !== 0) {
      for (let message = synic.takeMessage(ROOT_MESSAGE_SINT); message; message = synic.takeMessage(ROOT_MESSAGE_SINT)) {
        this.byMessagePort.get(Number(message.sender))?.host.handleMessage(message.payload);
      }
    }
    if ((sints & (1 << ROOT_EVENT_SINT)) !== 0) {
      synic.takeEventFlags(ROOT_EVENT_SINT, (flag) => {
        const entry = this.byFlag.get(flag);
        entry?.child.host.handleSignal(entry.channel);
      });
    }
  }
}
