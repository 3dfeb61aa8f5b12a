/**
 * The root's VMBus host for one child partition: the thin driver around the sans-IO
 * `VmbusServer` (STYLE rule 19). Guest messages come in through {@link VmbusHost.handleMessage},
 * guest channel signals through {@link VmbusHost.handleSignal}; messages for the guest leave
 * through the {@link HostTransport}, queued and retried when the guest's message buffers are
 * full. Devices ({@link VmbusDevice}) are offered with {@link VmbusHost.addDevice}; when the guest
 * opens one, its rings are mapped over the guest's GPADL (checked against guest memory) and the
 * device's handler is started on a {@link HostChannel}. A device serving an open primary can ask
 * for sub-channels (`HostChannel.offerSubChannels`, `host-subchannels.ts`): each is offered,
 * opened and served like a channel of its own, and revoked with its primary.
 *
 * The guest's memory can grow while it runs (hot add): before each guest message the server's idea
 * of the guest's page count is refreshed from the buffer's current length, so GPADLs and contact
 * pages are checked against the memory the guest has now.
 *
 * Every guest mistake the server reports is counted and logged at a limited rate; nothing a guest
 * sends throws out of here.
 */
import type { Logger } from 'pino';
import { Subject, type Observable } from 'rxjs';
import {
  ChannelStateError,
  ChannelStatus,
  InvalidArgumentError,
  PAGE_SIZE,
  RetryingPostQueue,
  VmbusServer,
  encodeChannelMessage,
  gpadlChannelRings,
  type ChannelId,
  type HostToGuestMessage,
  type ServerEvent,
  type VmbusVersion,
} from '@viridian/vmbus';
import { RateLimitedLog } from '../logging/rate-limited-log.ts';
import { HostChannel } from './host-channel.ts';
import { HostSubChannels, MAX_SUB_CHANNELS_PER_PRIMARY } from './host-subchannels.ts';
import type { HostTransport } from './host-transport.ts';
import type { ChannelHandler, VmbusDevice } from './vmbus-device.ts';

/**
 * A channel's interrupt connection id (the offer's `connection_id`, which the guest signals) is
 * this plus the channel id: clear of the VMBus message connections 1-4.
 */
export const CHANNEL_CONNECTION_BASE = 0x1000;

/** Options of a {@link VmbusHost}. */
export interface VmbusHostOptions {
  readonly transport: HostTransport;
  /** The child's guest memory (the root holds its children's memory, ARCHITECTURE.md). */
  readonly guestMemory: SharedArrayBuffer;
  readonly logger: Logger;
  /** Newest VMBus version to accept (default: the newest known). */
  readonly maxVersion?: VmbusVersion;
  /** The child's VP count (bounds target VPs). */
  readonly vpCount?: number;
  /**
   * Whether a page of the child's memory is mapped (its memory can have holes); when given, GPADL
   * PFNs and contact pages must be mapped, not only inside the buffer.
   */
  readonly isPageMapped?: (pfn: number) => boolean;
}

/** A device's channel (primary or sub-channel) offered on this connection and, while open, its service. */
interface DeviceSlot {
  readonly device: VmbusDevice;
  channel: HostChannel | undefined;
  handler: ChannelHandler | undefined;
  targetVp: number;
  /** A primary: the sub-channels of its current open (made when the device first asks). */
  subChannels: HostSubChannels | undefined;
  /** A sub-channel: the primary's set it belongs to, and the connection id its offer names. */
  readonly sub?: { readonly group: HostSubChannels; readonly connectionId: number; readonly shared: boolean };
}

export class VmbusHost {
  readonly server: VmbusServer;
  private readonly devices = new Map<ChannelId, DeviceSlot>();
  private readonly outbox: RetryingPostQueue<{ bytes: Uint8Array; targetVp: number }>;
  private readonly events = new Subject<ServerEvent>();
  private readonly problems: RateLimitedLog;
  private targetVcpu = 0;

  constructor(private readonly options: VmbusHostOptions) {
    this.problems = new RateLimitedLog(options.logger);
    this.outbox = new RetryingPostQueue((m) => options.transport.postMessage(m.bytes, m.targetVp));
    this.server = new VmbusServer(
      { send: (message) => this.post(message), emit: (event) => this.onServerEvent(event) },
      {
        guestMemoryPages: Math.floor(options.guestMemory.byteLength / 4096),
        ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion }),
        vpCount: options.vpCount ?? 1,
        ...(options.isPageMapped === undefined ? {} : { isPageMapped: options.isPageMapped }),
        channelConnectionBase: CHANNEL_CONNECTION_BASE,
      },
    );
  }

  /** Everything the server reports (connections, opens, closes, GPADLs, protocol errors). */
  get events$(): Observable<ServerEvent> {
    return this.events.asObservable();
  }

  /** The open channel of a device, if it is open. */
  channel(id: ChannelId): HostChannel | undefined {
    return this.devices.get(id)?.channel;
  }

  /**
   * Offers `device` to the guest (at once if the guest has asked for offers: hot add).
   * @throws {ChannelIdsExhaustedError} when all channel ids are taken
   */
  addDevice(device: VmbusDevice): ChannelId {
    const id = this.server.offerChannel({
      interfaceType: device.offer.interfaceType,
      interfaceInstance: device.offer.interfaceInstance,
      ...(device.offer.userDefined === undefined ? {} : { userDefined: device.offer.userDefined }),
    });
    this.devices.set(id, { device, channel: undefined, handler: undefined, targetVp: 0, subChannels: undefined });
    return id;
  }

  /**
   * Offers `count` more sub-channels of the open primary channel `primary` (what
   * `HostChannel.offerSubChannels` calls). Returns the primary's sub-channels as they open.
   * @throws {InvalidArgumentError} when `count` is not in 1..64 or the primary would exceed 64
   * @throws {ChannelStateError} when `primary` is not an open primary channel
   * @throws {ChannelIdsExhaustedError} when the channel ids run out (the ones offered stay)
   */
  offerSubChannels(primary: ChannelId, count: number): Observable<HostChannel> {
    const slot = this.devices.get(primary);
    if (slot === undefined || slot.sub !== undefined || slot.channel === undefined || this.server.channelState(primary)?.kind !== 'open') {
      throw new ChannelStateError(`sub-channels need an open primary channel; channel ${primary} is not one`);
    }
    const group = (slot.subChannels ??= new HostSubChannels(primary));
    if (!Number.isInteger(count) || count < 1 || group.count + count > MAX_SUB_CHANNELS_PER_PRIMARY) {
      throw new InvalidArgumentError(`sub-channel count must be 1..${MAX_SUB_CHANNELS_PER_PRIMARY - group.count}, got ${count}`);
    }
    const transport = this.options.transport;
    const shared = transport.connectSubChannel === undefined;
    for (let i = 0; i < count; i++) {
      const index = group.nextIndex();
      const id = this.server.offerSubChannel(primary, index, shared ? CHANNEL_CONNECTION_BASE + primary : undefined);
      const connectionId = shared ? CHANNEL_CONNECTION_BASE + primary : CHANNEL_CONNECTION_BASE + id;
      if (!shared) {
        try {
          transport.connectSubChannel!(id, connectionId);
        } catch (error) {
          // No interrupt path: withdraw the offer (the guest releases it) and report.
          this.server.rescindChannel(id);
          this.flushOutbox();
          throw error;
        }
      }
      group.added(id, index, shared);
      this.devices.set(id, { device: slot.device, channel: undefined, handler: undefined, targetVp: 0, subChannels: undefined, sub: { group, connectionId, shared } });
    }
    this.flushOutbox();
    return group.opened$;
  }

  /** Rescinds a device (or one sub-channel): its channel stops first, then the guest is told (hot remove). */
  async removeDevice(id: ChannelId): Promise<void> {
    const slot = this.devices.get(id);
    if (slot === undefined) return;
    await this.stopChannel(slot);
    this.server.rescindChannel(id);
  }

  /** A channel-management message the guest posted to the VMBus message port. */
  handleMessage(bytes: Uint8Array): void {
    // Hot-added memory counts from the next message on (the buffer grows, never shrinks under us).
    const pages = Math.floor(this.options.guestMemory.byteLength / PAGE_SIZE);
    if (pages !== this.server.guestMemoryPages) this.server.setGuestMemoryPages(pages);
    this.server.handle(bytes);
    this.flushOutbox();
  }

  /** The channel a guest's interrupt connection id belongs to. */
  static channelOfConnection(connectionId: number): ChannelId {
    return (connectionId - CHANNEL_CONNECTION_BASE) as ChannelId;
  }

  /** The guest signalled channel `id` (its event flag fired in the root). */
  handleSignal(id: ChannelId): void {
    const slot = this.devices.get(id);
    slot?.channel?.notify();
    // Sub-channels without a connection of their own signal on their primary's.
    const shared = slot?.subChannels?.sharedInterrupt;
    if (shared !== undefined && shared.size > 0) for (const sub of shared) this.devices.get(sub)?.channel?.notify();
  }

  /** Stops every channel (the child is going away). */
  async close(): Promise<void> {
    this.outbox.close();
    await Promise.all([...this.devices.values()].map((slot) => this.stopChannel(slot)));
    this.events.complete();
  }

  private post(message: HostToGuestMessage): void {
    this.outbox.push({ bytes: encodeChannelMessage(message), targetVp: this.targetVcpu });
  }

  private flushOutbox(): void {
    this.outbox.flush();
  }

  private onServerEvent(event: ServerEvent): void {
    this.events.next(event);
    switch (event.kind) {
      case 'connected':
        this.targetVcpu = event.info.targetVcpu;
        break;
      case 'openRequested':
        void this.open(event.channel, event.ring, event.request.downstreamPageOffset, event.request.targetVp);
        break;
      case 'closeRequested':
        void this.closeChannel(event.channel);
        break;
      case 'protocolError':
        this.problems.warn(event.reason, { detail: event.detail, messageType: event.messageType }, 'guest broke the VMBus protocol');
        break;
      case 'modifyRequested': {
        const slot = this.devices.get(event.channel);
        if (slot) slot.targetVp = event.targetVp;
        break;
      }
      case 'channelReleased': {
        const slot = this.devices.get(event.channel);
        if (slot === undefined) break;
        this.devices.delete(event.channel);
        const sub = slot.sub;
        sub?.group.removed(event.channel);
        if (sub?.shared !== true) this.options.transport.releaseChannel?.(event.channel, sub?.connectionId ?? CHANNEL_CONNECTION_BASE + event.channel);
        break;
      }
      case 'disconnected':
      case 'gpadlCreated':
      case 'gpadlTornDown':
      case 'tlConnectRequested':
        break;
      default:
        event satisfies never;
    }
  }

  /** Maps the rings over the guest's GPADL, asks the device, and answers OPENCHANNEL. */
  private async open(id: ChannelId, ring: Parameters<typeof gpadlChannelRings>[1], downstreamPageOffset: number, targetVp: number): Promise<void> {
    const slot = this.devices.get(id);
    if (slot === undefined) {
      this.server.completeOpen(id, ChannelStatus.unsuccessful);
      return;
    }
    const log = this.options.logger.child({ channel: id, device: slot.device.name });
    let channel: HostChannel;
    try {
      const rings = gpadlChannelRings(this.options.guestMemory, ring, downstreamPageOffset);
      slot.targetVp = targetVp;
      channel = new HostChannel(id, rings, () => this.options.transport.signalChannel(id, slot.targetVp), log, this.problems, {
        primary: slot.sub?.group.primary,
        subChannelIndex: slot.sub?.group.indexOf(id) ?? 0,
        offerSubChannels: (count) => this.offerSubChannels(id, count),
        ...(slot.sub === undefined ? {} : { withdraw: () => this.removeDevice(id) }),
        guestMemory: this.options.guestMemory,
      });
    } catch (error) {
      this.problems.warn('bad-ring-gpadl', { channel: id, detail: (error as Error).message }, 'guest opened a channel over an unusable GPADL');
      this.server.completeOpen(id, ChannelStatus.unsuccessful);
      this.flushOutbox();
      return;
    }
    try {
      const handler = await slot.device.open(channel);
      if (this.server.completeOpen(id, ChannelStatus.success)) {
        slot.channel = channel;
        slot.handler = handler;
        channel.start(handler);
        slot.sub?.group.channelOpened(channel);
      } else {
        // Rescinded (or reset) while the device was opening: the channel is never served.
        await handler.onClose?.(channel);
      }
    } catch (error) {
      log.warn({ err: error }, 'device refused to open');
      this.server.completeOpen(id, ChannelStatus.unsuccessful);
    }
    this.flushOutbox();
  }

  private async closeChannel(id: ChannelId): Promise<void> {
    const slot = this.devices.get(id);
    if (slot) await this.stopChannel(slot);
    this.server.completeClose(id);
    this.flushOutbox();
  }

  private async stopChannel(slot: DeviceSlot): Promise<void> {
    const channel = slot.channel;
    slot.channel = undefined;
    slot.handler = undefined;
    // A primary's sub-channels of this open end with it (the server revokes them).
    slot.subChannels?.end();
    slot.subChannels = undefined;
    if (channel) await channel.stop();
  }
}
