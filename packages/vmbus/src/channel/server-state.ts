/**
 * The VMBus server: the root's control plane for one child partition, as a sans-IO state machine
 * (STYLE rule 19; openvmm-notes §3; vmbus-wire.md §4). Guest messages go in through
 * {@link VmbusServer.handle}; devices act through `offerChannel`, `rescindChannel`, `completeOpen`
 * and `completeClose`; everything that results leaves through the {@link ServerNotifier}: messages
 * for the guest and {@link ServerEvent}s for the device layer. Nothing here does I/O, waits or
 * throws on guest input.
 *
 * Lifecycle (§4.6): INITIATE_CONTACT → VERSION_RESPONSE; REQUESTOFFERS → every offer, then
 * ALLOFFERS_DELIVERED (later offers go out at once); GPADL_HEADER (+ BODY…) → GPADL_CREATED;
 * OPENCHANNEL → `openRequested` → device `completeOpen` → OPENCHANNEL_RESULT; CLOSECHANNEL →
 * `closeRequested` → device `completeClose`; GPADL_TEARDOWN → GPADL_TORNDOWN (deferred while the
 * GPADL is the ring of a channel that is not closed); device rescind → RESCIND_CHANNELOFFER → guest
 * RELID_RELEASED frees the id; UNLOAD → every channel closed, every GPADL dropped → UNLOAD_RESPONSE.
 * A new INITIATE_CONTACT on a live connection resets it the same way first. The connection's
 * life cycle (negotiation, unload) is in `server-connection.ts`, the guest's messages are routed by
 * `server-dispatch.ts`, sub-channels live in `server-subchannels.ts`.
 *
 * A misbehaving guest gets a failure status where the protocol has a reply (OPENCHANNEL_RESULT,
 * GPADL_CREATED, VERSION_RESPONSE, MODIFYCHANNEL_RESPONSE) and a drop otherwise; either way a
 * `protocolError` event with a stable reason and a metrics count.
 */
import { ChannelIdsExhaustedError, InvalidArgumentError } from '../errors.ts';
import { checkMessageAllowed, decodeChannelMessage } from '../protocol/channel-message-codec.ts';
import { ChannelMessageType as T, ChannelStatus, OfferChannelLayout } from '../protocol/channel-message-layout.ts';
import { channelMessageSpec } from '../protocol/channel-message-table.ts';
import {
  MAX_CHANNEL_ID,
  type ChannelId,
  type ChannelMessage,
  type GpadlId,
  type HostToGuestMessage,
  type OfferChannelMessage,
} from '../protocol/channel-messages.ts';
import type { Guid } from '../protocol/guid.ts';
import { NEWEST_VERSION, VmbusConnectionId, VmbusVersions, type VmbusVersion } from '../protocol/vmbus-version.ts';
import type { OpenRequest, ServerChannel, ServerConnectionState } from './server-channel-state.ts';
import { newServerMetrics, type ServerMetrics, type ServerNotifier, type ServerProtocolErrorReason } from './server-events.ts';
import { ServerGpadlTable, type GpadlTableLimits, type GpadlTableStep } from './server-gpadls.ts';
import { settleUnload } from './server-connection.ts';
import { dispatchGuestMessage } from './server-dispatch.ts';
import { isSubChannel, liveSubChannels, offerSubChannel, orphanSubChannels, revokeSubChannels, subChannelProblems } from './server-subchannels.ts';

/** Options of a {@link VmbusServer}. */
export interface VmbusServerOptions extends GpadlTableLimits {
  /** The guest's memory in 4 KiB pages: every GPADL PFN and contact page must be below it. */
  readonly guestMemoryPages: number;
  /**
   * Whether a guest page below `guestMemoryPages` is mapped (memory can have holes): when given,
   * every GPADL PFN and contact page must be mapped too. It must be cheap and must not throw.
   */
  readonly isPageMapped?: (pfn: number) => boolean;
  /** Newest version accepted (default 5.3); tests lower it to exercise fallback. */
  readonly maxVersion?: VmbusVersion;
  /** Oldest version accepted (default 2.4, WIN8). */
  readonly minVersion?: VmbusVersion;
  /** The guest's VP count; when given, target VPs are checked against it. */
  readonly vpCount?: number;
  /** The message connection id returned in VERSION_RESPONSE from 5.0 on (default 1). */
  readonly messageConnectionId?: number;
  /**
   * An offer's default connection id (the one the guest signals) is this plus the channel id
   * (default 0). Keep it clear of the VMBus message connection ids 1-4.
   */
  readonly channelConnectionBase?: number;
}

/** What a device offers. Unset fields are zero; `userDefined` is padded to 120 bytes. */
export interface OfferParams {
  readonly interfaceType: Guid;
  readonly interfaceInstance: Guid;
  readonly channelFlags?: number;
  readonly mmioMegabytes?: number;
  readonly userDefined?: Uint8Array;
  readonly subChannelIndex?: number;
  readonly mmioMegabytesOptional?: number;
  readonly monitorId?: number;
  readonly monitorAllocated?: boolean;
  readonly dedicatedInterrupt?: boolean;
  /** The connection id the guest signals the channel on (default: the channel id). */
  readonly connectionId?: number;
}

/** The VMBus server of one child partition. */
export class VmbusServer {
  /** @internal Read by the dispatcher; use {@link connection}. */
  state: ServerConnectionState = { kind: 'disconnected' };
  /** @internal Channels by id, in offer order. */
  readonly channels = new Map<ChannelId, ServerChannel>();
  /** @internal The current connection's GPADLs. */
  gpadls: ServerGpadlTable;
  readonly metrics: ServerMetrics = newServerMetrics();
  /** @internal */
  guestMemoryPages: number;
  /** @internal */
  readonly options: Required<Pick<VmbusServerOptions, 'maxVersion' | 'minVersion' | 'messageConnectionId'>> & VmbusServerOptions;

  /** @throws {InvalidArgumentError} when an option is out of range */
  constructor(
    private readonly notifier: ServerNotifier,
    options: VmbusServerOptions,
  ) {
    if (!Number.isInteger(options.guestMemoryPages) || options.guestMemoryPages < 0) {
      throw new InvalidArgumentError(`guestMemoryPages must be a non-negative integer, got ${options.guestMemoryPages}`);
    }
    this.options = { maxVersion: NEWEST_VERSION, minVersion: VmbusVersions.win8, messageConnectionId: VmbusConnectionId.message, ...options };
    this.guestMemoryPages = options.guestMemoryPages;
    this.gpadls = new ServerGpadlTable(options);
  }

  /** The connection state (read-only view). */
  get connection(): Readonly<ServerConnectionState> {
    return this.state;
  }

  /** The negotiated version, while connected or unloading. */
  get version(): VmbusVersion | undefined {
    return this.state.kind === 'disconnected' ? undefined : this.state.info.version;
  }

  /** A channel's state, or `undefined` for an id not in use. */
  channelState(id: ChannelId): ServerChannel['state'] | undefined {
    return this.channels.get(id)?.state;
  }

  /** A GPADL of the current connection. */
  gpadl(id: GpadlId): ReturnType<ServerGpadlTable['get']> {
    return this.gpadls.get(id);
  }

  /** The guest's memory grew (hot add) or shrank. @throws {InvalidArgumentError} */
  setGuestMemoryPages(pages: number): void {
    if (!Number.isInteger(pages) || pages < 0) throw new InvalidArgumentError(`guestMemoryPages must be a non-negative integer, got ${pages}`);
    this.guestMemoryPages = pages;
  }

  /**
   * Handles one guest message: raw payload bytes (decoded here, at the negotiated version) or an
   * already decoded message. Never throws; mistakes become replies, drops and `protocolError`s.
   */
  handle(input: ChannelMessage | Uint8Array): void {
    this.metrics.messagesReceived++;
    let message: ChannelMessage;
    if (input instanceof Uint8Array) {
      const decoded = decodeChannelMessage(input, this.version);
      if (!decoded.ok) return this.protocolError(decoded.reason, decoded.detail, decoded.messageType);
      message = decoded.message;
    } else {
      const spec = channelMessageSpec(input.type);
      if (spec === undefined) return this.protocolError('unknown-type', `message type ${String(input.type)}`);
      const gate = checkMessageAllowed(spec, this.version);
      if (gate !== undefined) return this.protocolError(gate.reason, gate.detail, input.type);
      message = input;
    }
    if (channelMessageSpec(message.type)?.direction !== 'guestToHost') {
      return this.protocolError('wrong-direction', `the guest sent host→guest message ${message.type}`, message.type);
    }
    dispatchGuestMessage(this, message);
  }

  /**
   * Offers a channel: sent to the guest at once if it has already asked for offers, else with the
   * next REQUESTOFFERS. Returns the channel id (the lowest free one).
   * @throws {ChannelIdsExhaustedError} when all 2047 ids are taken
   * @throws {InvalidArgumentError} when a field does not fit the offer
   */
  offerChannel(params: OfferParams): ChannelId {
    if ((params.subChannelIndex ?? 0) !== 0) throw new InvalidArgumentError('a sub-channel is offered with offerSubChannel');
    return this.addChannel(params, undefined);
  }

  /**
   * Offers sub-channel `index` (1..65535) of the open primary channel `primary` (vmbus-wire.md
   * §4.4): the primary's interface type and instance, its own channel id, and `connectionId` for the
   * guest's signals (default: the channel connection base plus its id). Sent at once. Closing,
   * rescinding or unloading the primary revokes it (`server-subchannels.ts`).
   * @throws {ChannelStateError} when `primary` is not an open primary channel
   * @throws {InvalidArgumentError} when `index` is out of range or taken, or `connectionId` is not a u32
   * @throws {ChannelIdsExhaustedError} when all 2047 ids are taken
   */
  offerSubChannel(primary: ChannelId, index: number, connectionId?: number): ChannelId {
    return offerSubChannel(this, primary, index, connectionId);
  }

  /** The sub-channels of `primary` that are not rescinded, by id in offer order. */
  subChannels(primary: ChannelId): ChannelId[] {
    return liveSubChannels(this, primary).map((sub) => sub.id);
  }

  /** The primary of sub-channel `id`, or `undefined` (a primary, or an unknown id). */
  primaryOf(id: ChannelId): ChannelId | undefined {
    return this.channels.get(id)?.primary;
  }

  /**
   * @internal Builds and records an offer (`primary` set for a sub-channel); sends it if the guest
   * has asked for offers.
   */
  addChannel(params: OfferParams, primary: ChannelId | undefined): ChannelId {
    let id = 1 as ChannelId;
    while (this.channels.has(id)) id = (id + 1) as ChannelId;
    if (id > MAX_CHANNEL_ID) throw new ChannelIdsExhaustedError(MAX_CHANNEL_ID);
    const userDefined = new Uint8Array(OfferChannelLayout.USER_DEFINED_SIZE);
    if (params.userDefined !== undefined) {
      if (params.userDefined.byteLength > userDefined.byteLength) throw new InvalidArgumentError(`userDefined is ${params.userDefined.byteLength} bytes; at most 120`);
      userDefined.set(params.userDefined);
    }
    const offer: OfferChannelMessage = {
      type: T.offerChannel,
      interfaceType: params.interfaceType,
      interfaceInstance: params.interfaceInstance,
      channelFlags: params.channelFlags ?? 0,
      mmioMegabytes: params.mmioMegabytes ?? 0,
      userDefined,
      subChannelIndex: params.subChannelIndex ?? 0,
      mmioMegabytesOptional: params.mmioMegabytesOptional ?? 0,
      childRelid: id,
      monitorId: params.monitorId ?? 0,
      monitorAllocated: params.monitorAllocated ?? false,
      dedicatedInterrupt: params.dedicatedInterrupt ?? false,
      connectionId: params.connectionId ?? (this.options.channelConnectionBase ?? 0) + id,
    };
    for (const [name, value, max] of [
      ['channelFlags', offer.channelFlags, 0xffff],
      ['mmioMegabytes', offer.mmioMegabytes, 0xffff],
      ['subChannelIndex', offer.subChannelIndex, 0xffff],
      ['mmioMegabytesOptional', offer.mmioMegabytesOptional, 0xffff],
      ['monitorId', offer.monitorId, 0xff],
      ['connectionId', offer.connectionId, 0xffff_ffff],
    ] as const) {
      if (!Number.isInteger(value) || value < 0 || value > max) throw new InvalidArgumentError(`${name} must be in 0..${max}, got ${value}`);
    }
    const channel: ServerChannel = { id, offer, state: { kind: 'pending' }, primary };
    this.channels.set(id, channel);
    if (this.state.kind === 'connected' && this.state.offersSent) this.sendOffer(channel);
    return id;
  }

  /**
   * The device withdraws a channel. A channel the guest never saw disappears at once; otherwise an
   * open in progress fails, GPADLs still assembling are refused, deferred teardowns are answered,
   * RESCIND_CHANNELOFFER is sent, and the id stays taken until the guest's RELID_RELEASED.
   * Returns false when the channel is unknown or already rescinded.
   */
  rescindChannel(id: ChannelId): boolean {
    const channel = this.channels.get(id);
    if (channel === undefined || channel.state.kind === 'rescinded') return false;
    if (channel.state.kind === 'pending') {
      // Not visible to the guest (never sent, withdrawn by it, or reset by an unload in progress).
      this.releaseChannel(channel);
      return true;
    }
    if (this.state.kind === 'unloading') {
      // The guest is going away and releases everything: no rescind, no pending completion.
      this.releaseChannel(channel);
      settleUnload(this);
      return true;
    }
    if (channel.state.kind === 'opening') {
      this.send({ type: T.openChannelResult, childRelid: id, openId: channel.state.request.openId, status: ChannelStatus.unsuccessful });
    }
    for (const gpadl of this.gpadls.ofChannel(id)) {
      if (gpadl.state.kind === 'assembling') {
        this.gpadls.remove(gpadl.id);
        this.send({ type: T.gpadlCreated, childRelid: id, gpadlId: gpadl.id, status: ChannelStatus.unsuccessful });
      } else if (gpadl.state.kind === 'tearingDown') {
        this.finishTeardown(gpadl.id);
      }
    }
    channel.state = { kind: 'rescinded' };
    this.send({ type: T.rescindChannelOffer, childRelid: id });
    if (!isSubChannel(channel)) revokeSubChannels(this, id);
    return true;
  }

  /**
   * The device's answer to `openRequested`. Sends OPENCHANNEL_RESULT with `status` (0 = opened).
   * Returns false when the channel is no longer opening (rescinded, or the request is stale).
   * @throws {InvalidArgumentError} when `status` is not a u32
   */
  completeOpen(id: ChannelId, status: number): boolean {
    if (!Number.isInteger(status) || status < 0 || status > 0xffff_ffff) throw new InvalidArgumentError(`status must be a u32, got ${status}`);
    const channel = this.channels.get(id);
    if (channel?.state.kind !== 'opening') return false;
    const request = channel.state.request;
    if (this.state.kind === 'unloading') {
      // The guest is going away: no result; an open that succeeded is closed again at once.
      if (status === ChannelStatus.success) this.beginClose(channel, request);
      else channel.state = { kind: 'pending' };
      settleUnload(this);
      return true;
    }
    channel.state = status === ChannelStatus.success ? { kind: 'open', request } : { kind: 'offered' };
    this.send({ type: T.openChannelResult, childRelid: id, openId: request.openId, status });
    return true;
  }

  /**
   * The device's answer to `closeRequested`: it no longer touches the rings. Answers a deferred
   * GPADL_TEARDOWN of the ring and runs an OPENCHANNEL that arrived meanwhile.
   * Returns false when the channel is not closing.
   */
  completeClose(id: ChannelId): boolean {
    const channel = this.channels.get(id);
    if (channel?.state.kind !== 'closing') return false;
    const { request, reopen, revoke } = channel.state;
    channel.state = this.state.kind === 'unloading' ? { kind: 'pending' } : { kind: 'offered' };
    if (this.state.kind === 'unloading') {
      settleUnload(this);
      return true;
    }
    // A revoked sub-channel: rescinding also answers a deferred teardown of its ring.
    if (revoke) return this.rescindChannel(id);
    const ring = this.gpadls.get(request.gpadlId);
    if (ring?.state.kind === 'tearingDown') this.finishTeardown(ring.id);
    if (reopen !== undefined) this.tryOpen(channel, reopen);
    return true;
  }

  /**
   * Internal consistency, for tests and assertions: returns every broken invariant (empty = fine).
   */
  checkConsistency(): string[] {
    const problems: string[] = [];
    let pages = 0;
    for (const gpadl of this.gpadls.values()) {
      pages += gpadl.reservedPages;
      const owner = this.channels.get(gpadl.channel);
      if (owner === undefined) problems.push(`GPADL ${gpadl.id} belongs to missing channel ${gpadl.channel}`);
      if (this.state.kind === 'disconnected') problems.push(`GPADL ${gpadl.id} outlives the connection`);
    }
    if (pages !== this.gpadls.reservedPages) problems.push(`reserved pages ${this.gpadls.reservedPages} != ${pages}`);
    for (const channel of this.channels.values()) {
      const s = channel.state;
      if (this.state.kind === 'disconnected' && s.kind !== 'pending') problems.push(`channel ${channel.id} is ${s.kind} while disconnected`);
      if (s.kind === 'opening' || s.kind === 'open' || s.kind === 'closing') {
        const ring = this.gpadls.get(s.request.gpadlId);
        if (ring === undefined || ring.channel !== channel.id || ring.state.kind === 'assembling') {
          problems.push(`channel ${channel.id} is ${s.kind} without its ring GPADL ${s.request.gpadlId}`);
        }
      }
    }
    problems.push(...subChannelProblems(this));
    return problems;
  }

  // ---- used by the dispatcher (server-dispatch.ts) ----

  /** @internal */
  send(message: HostToGuestMessage): void {
    this.metrics.messagesSent++;
    this.notifier.send(message);
  }

  /** @internal */
  emit(event: Parameters<ServerNotifier['emit']>[0]): void {
    this.notifier.emit(event);
  }

  /** @internal Counts and reports a guest mistake. */
  protocolError(reason: ServerProtocolErrorReason, detail: string, messageType?: number): void {
    this.metrics.protocolErrors++;
    this.metrics.errorsByReason[reason] = (this.metrics.errorsByReason[reason] ?? 0) + 1;
    this.emit(messageType === undefined ? { kind: 'protocolError', reason, detail } : { kind: 'protocolError', reason, detail, messageType });
  }

  /** @internal Sends an offer and marks the channel offered. */
  sendOffer(channel: ServerChannel): void {
    channel.state = { kind: 'offered' };
    this.metrics.offersSent++;
    this.send(channel.offer);
  }

  /** @internal Validates an OPENCHANNEL for a closed channel and asks the device. */
  tryOpen(channel: ServerChannel, request: OpenRequest): void {
    const fail = (detail: string): void => {
      this.protocolError('bad-open-request', detail, T.openChannel);
      this.send({ type: T.openChannelResult, childRelid: channel.id, openId: request.openId, status: ChannelStatus.invalidParameter });
    };
    const ring = this.gpadls.get(request.gpadlId);
    if (ring === undefined || ring.channel !== channel.id || ring.state.kind !== 'created') {
      return fail(`GPADL ${request.gpadlId} is not a created GPADL of channel ${channel.id}`);
    }
    const pages = ring.state.range.pfns.length;
    // Each ring needs its control page and at least one data page.
    if (request.downstreamPageOffset < 2 || request.downstreamPageOffset > pages - 2) {
      return fail(`downstream page offset ${request.downstreamPageOffset} does not split a ${pages}-page GPADL into two rings`);
    }
    if (ring.state.range.byteOffset !== 0) return fail(`ring GPADL ${ring.id} does not start on a page boundary`);
    if (this.options.vpCount !== undefined && request.targetVp >= this.options.vpCount) {
      return fail(`target VP ${request.targetVp} of ${this.options.vpCount}`);
    }
    channel.state = { kind: 'opening', request };
    this.metrics.opensRequested++;
    this.emit({ kind: 'openRequested', channel: channel.id, request, ring: ring.state.range });
  }

  /**
   * @internal Moves an open channel to closing and asks the device; a primary's sub-channels are
   * revoked (while connected; an unload drops them once drained). `revoke`: a sub-channel whose
   * primary went away, rescinded once closed.
   */
  beginClose(channel: ServerChannel, request: OpenRequest, revoke = false): void {
    channel.state = { kind: 'closing', request, reopen: undefined, revoke };
    this.metrics.closesRequested++;
    this.emit({ kind: 'closeRequested', channel: channel.id });
    if (!isSubChannel(channel) && this.state.kind === 'connected') revokeSubChannels(this, channel.id);
  }

  /** @internal Answers a GPADL header or body step. */
  gpadlStep(step: GpadlTableStep, messageType: number): void {
    switch (step.outcome) {
      case 'incomplete':
        return;
      case 'created':
        this.metrics.gpadlsCreated++;
        this.send({ type: T.gpadlCreated, childRelid: step.gpadl.channel, gpadlId: step.gpadl.id, status: ChannelStatus.success });
        if (step.gpadl.state.kind === 'created') {
          this.emit({ kind: 'gpadlCreated', channel: step.gpadl.channel, gpadlId: step.gpadl.id, range: step.gpadl.state.range });
        }
        return;
      case 'refused':
        this.protocolError(step.reason, step.detail, messageType);
        this.send({ type: T.gpadlCreated, childRelid: step.channel, gpadlId: step.gpadlId, status: step.status });
        return;
      case 'unknown':
        return this.protocolError('unknown-gpadl', step.detail, messageType);
      default: {
        const never: never = step;
        return never;
      }
    }
  }

  /** @internal Removes a GPADL, answers GPADL_TORNDOWN and tells the device. */
  finishTeardown(id: GpadlId): void {
    const gpadl = this.gpadls.remove(id);
    if (gpadl === undefined) return;
    this.metrics.gpadlsTornDown++;
    this.send({ type: T.gpadlTorndown, gpadlId: id });
    if (gpadl.state.kind !== 'assembling') this.emit({ kind: 'gpadlTornDown', channel: gpadl.channel, gpadlId: id });
  }

  /** @internal Drops a channel and its GPADLs and frees its id. */
  releaseChannel(channel: ServerChannel): void {
    for (const gpadl of this.gpadls.ofChannel(channel.id)) {
      this.gpadls.remove(gpadl.id);
      if (gpadl.state.kind !== 'assembling') {
        this.metrics.gpadlsTornDown++;
        this.emit({ kind: 'gpadlTornDown', channel: channel.id, gpadlId: gpadl.id });
      }
    }
    this.channels.delete(channel.id);
    if (!isSubChannel(channel)) orphanSubChannels(this, channel.id);
    this.emit({ kind: 'channelReleased', channel: channel.id });
  }
}
