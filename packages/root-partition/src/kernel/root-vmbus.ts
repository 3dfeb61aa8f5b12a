/**
 * The root's VMBus across all its children: one {@link VmbusHost} and one {@link SynicVmbusLink}
 * per child, and the routing of the root VP's SynIC interrupts to them: messages on
 * {@link ROOT_MESSAGE_SINT} by the port they arrived on, channel interrupts on
 * {@link ROOT_EVENT_SINT} by event flag.
 */
import type { Logger } from 'pino';
import type { VpContext } from '@viridian/hypervisor';
import type { ChannelId } from '@viridian/vmbus';
import { CHANNEL_CONNECTION_BASE, VmbusHost } from '../vmbus/vmbus-host.ts';
import type { VmbusDevice } from '../vmbus/vmbus-device.ts';
import { EVENT_FLAGS_PER_SINT, ROOT_EVENT_SINT, ROOT_MESSAGE_SINT, SynicVmbusLink } from './synic-vmbus-link.ts';

/** A child's VMBus as the root holds it. */
export interface ChildVmbus {
  readonly childId: bigint;
  readonly link: SynicVmbusLink;
  readonly host: VmbusHost;
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
    const host = new VmbusHost({ transport: link, guestMemory, vpCount, logger: this.logger.child({ partition: String(childId) }) });
    const child: ChildVmbus = { childId, link, host };
    this.byMessagePort.set(ids.rootMessagePort, child);
    return child;
  }

  /**
   * Offers `device` to a child, with the interrupt path of its channel.
   * @throws {LinkSetupError} when the event flags of the root's SINT are exhausted or a call fails
   */
  addDevice(child: ChildVmbus, device: VmbusDevice): ChannelId {
    const flag = this.freeFlags.pop() ?? this.nextFlag++;
    if (flag >= EVENT_FLAGS_PER_SINT) {
      this.freeFlags.push(flag);
      throw new Error(`the root's ${EVENT_FLAGS_PER_SINT} channel interrupt flags are in use`);
    }
    let channel: ChannelId | undefined;
    try {
      channel = child.host.addDevice(device);
      child.link.connectChannel(channel, CHANNEL_CONNECTION_BASE + channel, CHANNEL_PORT_BASE + flag, flag);
    } catch (error) {
      // Give back what this call took: the flag, and the offer if it was made.
      this.freeFlags.push(flag);
      if (channel !== undefined) void child.host.removeDevice(channel);
      throw error;
    }
    this.byFlag.set(flag, { child, channel });
    return channel;
  }

  /**
   * Forgets a child (it stopped or crashed): its channels stop, the root's ports and connections
   * for it are deleted, and only then are its event flags free for another child.
   */
  async detachChild(child: ChildVmbus): Promise<void> {
    this.byMessagePort.delete(child.link.ids.rootMessagePort);
    await child.host.close();
    child.link.close((channel) => CHANNEL_CONNECTION_BASE + channel);
    for (const [flag, entry] of this.byFlag) {
      if (entry.child === child) {
        this.byFlag.delete(flag);
        this.freeFlags.push(flag);
      }
    }
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
