/**
 * The VMBus client: the guest kernel's control plane, as a sans-IO state machine (vmbus-wire.md
 * §4.3-§4.6; Linux `vmbus_connect`, `channel_mgmt.c`). Drivers call request methods (`connect`,
 * `createGpadl`, `openChannel`, `closeChannel`, `teardownGpadl`, `releaseChannel`,
 * `modifyChannel`, `unload`); each posts messages through the {@link ClientNotifier} and returns the
 * id its result event will carry. Host messages go in through {@link VmbusClient.handle}, results
 * and notices come out as {@link ClientEvent}s.
 *
 * Negotiation walks the candidate versions newest first: INITIATE_CONTACT (to connection id 4 from
 * 5.0 on, else 1); VERSION_RESPONSE refused → the next version; `contactPostFailed()` (the post hit
 * HV_STATUS_INVALID_CONNECTION_ID on an old host) → the next version at once. Once connected it
 * posts REQUESTOFFERS and collects offers until ALLOFFERS_DELIVERED; later offers and rescinds are
 * events too. Local misuse throws {@link ChannelStateError}; host mistakes are dropped with a
 * `protocolError` event.
 */
import { ChannelStateError, InvalidArgumentError } from '../errors.ts';
import { decodeChannelMessage } from '../protocol/channel-message-codec.ts';
import { ChannelMessageType as T, ChannelStatus, OpenChannelLayout } from '../protocol/channel-message-layout.ts';
import { channelMessageSpec } from '../protocol/channel-message-table.ts';
import type { ChannelId, ChannelMessage, GpadlId, GuestToHostMessage, HostToGuestMessage, OfferChannelMessage, OpaqueChannelMessage } from '../protocol/channel-messages.ts';
import { GPADL_HANDLE_BASE, splitGpadl, type GpadlRange } from '../protocol/gpadl.ts';
import {
  NEGOTIABLE_VERSIONS,
  VMBUS_MESSAGE_SINT,
  VmbusVersions,
  initiateContactConnectionId,
  messageConnectionIdFor,
  type VmbusVersion,
} from '../protocol/vmbus-version.ts';
import type { ClientChannel, ClientConnectionState, ClientEvent, ClientGpadl, ClientNotifier, ClientProtocolErrorReason } from './client-events.ts';

/** Options of a {@link VmbusClient}. */
export interface VmbusClientOptions {
  /** Candidate versions, newest first (default 5.3 down to 2.4). */
  readonly versions?: readonly VmbusVersion[];
  /** Skip candidates above this (Linux's `max_version`). */
  readonly maxVersion?: VmbusVersion;
  /** VP that receives host→guest messages (default 0). */
  readonly targetVcpu?: number;
  /** SINT for host→guest messages from 5.0 on (default 2). */
  readonly messageSint?: number;
  /** GPA of the interrupt page, sent before 5.0 (default 0). */
  readonly interruptPage?: number;
  readonly monitorPage1?: number;
  readonly monitorPage2?: number;
  /** First GPADL handle (default 0xE1E10, as Linux). */
  readonly firstGpadlId?: number;
}

/** What `openChannel` needs. */
export interface OpenChannelParams {
  readonly gpadlId: GpadlId;
  /** First page of the host→guest ring within the GPADL. */
  readonly downstreamPageOffset: number;
  /** VP for host→guest interrupts (default 0). */
  readonly targetVp?: number;
  /** Up to 120 bytes of driver data (zero-padded). */
  readonly userData?: Uint8Array;
}

/** The VMBus client of one guest. */
export class VmbusClient {
  private state: ClientConnectionState = { kind: 'disconnected' };
  private readonly channels = new Map<ChannelId, ClientChannel>();
  private readonly gpadls = new Map<GpadlId, ClientGpadl>();
  private readonly candidates: readonly VmbusVersion[];
  private nextGpadlId: number;

  /** @throws {InvalidArgumentError} when no candidate version is left after `maxVersion` */
  constructor(
    private readonly notifier: ClientNotifier,
    private readonly options: VmbusClientOptions = {},
  ) {
    const max = options.maxVersion ?? Number.POSITIVE_INFINITY;
    this.candidates = (options.versions ?? NEGOTIABLE_VERSIONS).filter((v) => v <= max);
    if (this.candidates.length === 0) throw new InvalidArgumentError('no candidate VMBus version');
    this.nextGpadlId = options.firstGpadlId ?? GPADL_HANDLE_BASE;
  }

  /** The connection state. */
  get connection(): Readonly<ClientConnectionState> {
    return this.state;
  }

  /** The agreed version, while connected or unloading. */
  get version(): VmbusVersion | undefined {
    return this.state.kind === 'connected' || this.state.kind === 'unloading' ? this.state.version : undefined;
  }

  /** The channels offered so far (rescinded ones until released). */
  channel(id: ChannelId): Readonly<ClientChannel> | undefined {
    return this.channels.get(id);
  }

  /** Offered channel ids, in offer order. */
  channelIds(): ChannelId[] {
    return [...this.channels.keys()];
  }

  /** A GPADL's state. */
  gpadl(id: GpadlId): Readonly<ClientGpadl> | undefined {
    return this.gpadls.get(id);
  }

  /** Starts negotiation with the newest candidate. @throws {ChannelStateError} unless disconnected */
  connect(): void {
    if (this.state.kind !== 'disconnected') throw new ChannelStateError(`connect while ${this.state.kind}`);
    this.contact(0);
  }

  /**
   * The adapter's report that posting INITIATE_CONTACT failed with HV_STATUS_INVALID_CONNECTION_ID
   * (an old host without connection id 4): try the next version at once.
   * @throws {ChannelStateError} unless contacting
   */
  contactPostFailed(): void {
    if (this.state.kind !== 'contacting') throw new ChannelStateError(`contactPostFailed while ${this.state.kind}`);
    this.refused(this.state);
  }

  /**
   * Posts GPADL_HEADER and its bodies for `range` on `channel`. Returns the GPADL id that the
   * `gpadlCreated` event will carry.
   * @throws {ChannelStateError} unless connected with `channel` offered and not rescinded
   * @throws {InvalidArgumentError} when the range cannot be expressed (see `splitGpadl`)
   */
  createGpadl(channel: ChannelId, range: GpadlRange): GpadlId {
    this.liveChannel(channel, 'createGpadl');
    const id = this.nextGpadlId as GpadlId;
    const messages = splitGpadl(channel, id, range);
    this.nextGpadlId = (this.nextGpadlId + 1) >>> 0;
    this.gpadls.set(id, { id, channel, state: { kind: 'creating' } });
    for (const message of messages) this.post(message);
    return id;
  }

  /**
   * Posts OPENCHANNEL. Returns the open id (the channel id, as Linux) of the `openResult` event.
   * @throws {ChannelStateError} unless the channel is offered, closed, not rescinded, and `gpadlId` is its created GPADL
   * @throws {InvalidArgumentError} when `userData` is longer than 120 bytes
   */
  openChannel(channel: ChannelId, params: OpenChannelParams): number {
    const c = this.liveChannel(channel, 'openChannel');
    if (c.state.kind !== 'closed') throw new ChannelStateError(`openChannel on ${c.state.kind} channel ${channel}`);
    const gpadl = this.gpadls.get(params.gpadlId);
    if (gpadl?.channel !== channel || gpadl.state.kind !== 'created') throw new ChannelStateError(`GPADL ${params.gpadlId} is not a created GPADL of channel ${channel}`);
    const userData = new Uint8Array(OpenChannelLayout.USER_DATA_SIZE);
    if (params.userData !== undefined) {
      if (params.userData.byteLength > userData.byteLength) throw new InvalidArgumentError(`userData is ${params.userData.byteLength} bytes; at most 120`);
      userData.set(params.userData);
    }
    const openId = channel;
    c.state = { kind: 'opening', openId, gpadlId: params.gpadlId };
    this.post({
      type: T.openChannel,
      childRelid: channel,
      openId,
      ringBufferGpadlId: params.gpadlId,
      targetVp: params.targetVp ?? 0,
      downstreamRingBufferPageOffset: params.downstreamPageOffset,
      userData,
    });
    return openId;
  }

  /** Posts CLOSECHANNEL (no reply). Allowed after a rescind. @throws {ChannelStateError} unless open */
  closeChannel(channel: ChannelId): void {
    const c = this.knownChannel(channel, 'closeChannel');
    if (c.state.kind !== 'open') throw new ChannelStateError(`closeChannel on ${c.state.kind} channel ${channel}`);
    c.state = { kind: 'closed' };
    this.post({ type: T.closeChannel, childRelid: channel });
  }

  /**
   * Posts GPADL_TEARDOWN; `gpadlTornDown` follows. Allowed after a rescind.
   * @throws {ChannelStateError} unless `gpadlId` is a created GPADL of `channel`
   */
  teardownGpadl(channel: ChannelId, gpadlId: GpadlId): void {
    this.knownChannel(channel, 'teardownGpadl');
    const gpadl = this.gpadls.get(gpadlId);
    if (gpadl?.channel !== channel || gpadl.state.kind !== 'created') throw new ChannelStateError(`GPADL ${gpadlId} is not a created GPADL of channel ${channel}`);
    gpadl.state = { kind: 'tearingDown' };
    this.post({ type: T.gpadlTeardown, childRelid: channel, gpadlId });
  }

  /**
   * Posts RELID_RELEASED for a rescinded channel (after closing it), or for an offer the guest will
   * not use, and forgets the channel and its GPADLs (the host drops them too).
   * @throws {ChannelStateError} when the channel is open or opening
   */
  releaseChannel(channel: ChannelId): void {
    const c = this.knownChannel(channel, 'releaseChannel');
    if (c.state.kind !== 'closed') throw new ChannelStateError(`releaseChannel on ${c.state.kind} channel ${channel}`);
    for (const gpadl of [...this.gpadls.values()]) if (gpadl.channel === channel) this.gpadls.delete(gpadl.id);
    this.channels.delete(channel);
    this.post({ type: T.relidReleased, childRelid: channel });
  }

  /**
   * Posts MODIFYCHANNEL (needs 4.1); from 5.3 a `modifyResult` follows.
   * @throws {ChannelStateError} unless the channel is open and the version is at least 4.1
   */
  modifyChannel(channel: ChannelId, targetVp: number): void {
    const c = this.liveChannel(channel, 'modifyChannel');
    if (c.state.kind !== 'open') throw new ChannelStateError(`modifyChannel on ${c.state.kind} channel ${channel}`);
    if ((this.version ?? 0) < VmbusVersions.win10V4_1) throw new ChannelStateError('MODIFYCHANNEL needs version 4.1');
    this.post({ type: T.modifyChannel, childRelid: channel, targetVp });
  }

  /** Posts UNLOAD; `unloaded` follows. @throws {ChannelStateError} unless connected */
  unload(): void {
    if (this.state.kind !== 'connected') throw new ChannelStateError(`unload while ${this.state.kind}`);
    const { version, messageConnectionId } = this.state;
    this.post({ type: T.unload });
    this.state = { kind: 'unloading', version, messageConnectionId };
  }

  /** Handles one host message: payload bytes or a decoded message. Never throws. */
  handle(input: ChannelMessage | Uint8Array): void {
    let message: ChannelMessage;
    if (input instanceof Uint8Array) {
      const decoded = decodeChannelMessage(input, this.version);
      if (!decoded.ok) return this.protocolError(decoded.reason, decoded.detail, decoded.messageType);
      message = decoded.message;
    } else {
      message = input;
    }
    if (channelMessageSpec(message.type)?.direction !== 'hostToGuest') {
      return this.protocolError('wrong-direction', `the host sent guest→host message ${message.type}`, message.type);
    }
    this.dispatch(message as HostToGuestMessage | OpaqueChannelMessage);
  }

  private dispatch(m: HostToGuestMessage | OpaqueChannelMessage): void {
    switch (m.type) {
      case T.versionResponse: {
        if (this.state.kind !== 'contacting') return this.protocolError('unexpected-message', `VERSION_RESPONSE while ${this.state.kind}`, m.type);
        if (!m.versionSupported) return this.refused(this.state);
        const version = this.state.version;
        const messageConnectionId = messageConnectionIdFor(version, m.messageConnectionId);
        this.state = { kind: 'connected', version, messageConnectionId, offers: 'requested' };
        this.emit({ kind: 'connected', version, messageConnectionId });
        return this.post({ type: T.requestOffers });
      }
      case T.offerChannel: {
        if (this.state.kind !== 'connected') return this.protocolError('unexpected-message', `OFFERCHANNEL while ${this.state.kind}`, m.type);
        if (this.channels.has(m.childRelid)) return this.protocolError('duplicate-offer', `channel ${m.childRelid} is already offered`, m.type);
        let primary = m.subChannelIndex === 0 ? undefined : this.primaryOf(m);
        if (m.subChannelIndex !== 0 && primary === undefined) {
          // Recorded all the same, so the guest can decline it with RELID_RELEASED.
          this.protocolError('unknown-primary', `sub-channel ${m.childRelid} (index ${m.subChannelIndex}) matches no primary channel`, m.type);
        } else if (primary !== undefined && this.subChannelIndexTaken(primary, m.subChannelIndex)) {
          // Two live sub-channels with one index: the second is not one of the primary's queues.
          this.protocolError('duplicate-sub-channel', `sub-channel index ${m.subChannelIndex} of channel ${primary} is already offered`, m.type);
          primary = undefined;
        }
        this.channels.set(m.childRelid, { offer: m, state: { kind: 'closed' }, rescinded: false, primary });
        return this.emit({ kind: 'offer', offer: m, initial: this.state.offers === 'requested', primary });
      }
      case T.allOffersDelivered:
        if (this.state.kind !== 'connected' || this.state.offers !== 'requested') return this.protocolError('unexpected-message', 'ALLOFFERS_DELIVERED not awaited', m.type);
        this.state.offers = 'delivered';
        return this.emit({ kind: 'allOffersDelivered', channels: this.channelIds() });
      case T.rescindChannelOffer: {
        const c = this.hostChannel(m.childRelid, m.type);
        if (c === undefined || c.rescinded) return;
        c.rescinded = true;
        if (c.state.kind === 'opening') {
          // §4.6: the host may ignore the OPENCHANNEL now; fail it here so no driver waits forever.
          const { openId } = c.state;
          c.state = { kind: 'closed' };
          this.emit({ kind: 'openResult', channel: m.childRelid, openId, status: ChannelStatus.unsuccessful });
        }
        for (const gpadl of [...this.gpadls.values()]) {
          if (gpadl.channel === m.childRelid && gpadl.state.kind === 'creating') {
            this.gpadls.delete(gpadl.id);
            this.emit({ kind: 'gpadlCreated', channel: gpadl.channel, gpadlId: gpadl.id, status: ChannelStatus.unsuccessful });
          }
        }
        return this.emit({ kind: 'rescinded', channel: m.childRelid });
      }
      case T.openChannelResult: {
        const c = this.hostChannel(m.childRelid, m.type);
        if (c === undefined) return;
        if (c.state.kind !== 'opening' || c.state.openId !== m.openId) {
          return this.protocolError('unexpected-message', `OPENCHANNEL_RESULT for ${c.state.kind} channel ${m.childRelid}`, m.type);
        }
        c.state = m.status === ChannelStatus.success ? { kind: 'open', openId: m.openId, gpadlId: c.state.gpadlId } : { kind: 'closed' };
        return this.emit({ kind: 'openResult', channel: m.childRelid, openId: m.openId, status: m.status });
      }
      case T.gpadlCreated: {
        const gpadl = this.gpadls.get(m.gpadlId);
        if (gpadl?.channel !== m.childRelid || gpadl.state.kind !== 'creating') {
          return this.protocolError('unexpected-message', `GPADL_CREATED for GPADL ${m.gpadlId} not being created`, m.type);
        }
        if (m.status === ChannelStatus.success) gpadl.state = { kind: 'created' };
        else this.gpadls.delete(gpadl.id);
        return this.emit({ kind: 'gpadlCreated', channel: gpadl.channel, gpadlId: gpadl.id, status: m.status });
      }
      case T.gpadlTorndown: {
        const gpadl = this.gpadls.get(m.gpadlId);
        if (gpadl?.state.kind !== 'tearingDown') return this.protocolError('unexpected-message', `GPADL_TORNDOWN for GPADL ${m.gpadlId} not being torn down`, m.type);
        this.gpadls.delete(gpadl.id);
        return this.emit({ kind: 'gpadlTornDown', channel: gpadl.channel, gpadlId: gpadl.id });
      }
      case T.modifyChannelResponse:
        if (this.hostChannel(m.childRelid, m.type) === undefined) return;
        return this.emit({ kind: 'modifyResult', channel: m.childRelid, status: m.status });
      case T.unloadResponse:
        if (this.state.kind !== 'unloading') return this.protocolError('unexpected-message', `UNLOAD_RESPONSE while ${this.state.kind}`, m.type);
        this.state = { kind: 'disconnected' };
        this.channels.clear();
        this.gpadls.clear();
        return this.emit({ kind: 'unloaded' });
      case T.openReservedChannel:
      case T.closeReservedChannel:
      case T.closeReservedResponse:
      case T.tlConnectResult:
      case T.modifyConnection:
      case T.modifyConnectionResponse:
        return this.protocolError('unsupported-message', `message type ${m.type} is not implemented`, m.type);
      default: {
        const never: never = m;
        return never;
      }
    }
  }

  private contact(candidate: number): void {
    const version = this.candidates[candidate];
    if (version === undefined) {
      this.state = { kind: 'disconnected' };
      return this.emit({ kind: 'connectFailed' });
    }
    this.state = { kind: 'contacting', candidate, version };
    const o = this.options;
    this.notifier.send(
      {
        type: T.initiateContact,
        versionRequested: version,
        targetVcpu: o.targetVcpu ?? 0,
        target:
          version >= VmbusVersions.win10V5
            ? { kind: 'sint', messageSint: o.messageSint ?? VMBUS_MESSAGE_SINT, messageVtl: 0, featureFlags: 0 }
            : { kind: 'interruptPage', interruptPage: o.interruptPage ?? 0 },
        monitorPage1: o.monitorPage1 ?? 0,
        monitorPage2: o.monitorPage2 ?? 0,
      },
      initiateContactConnectionId(version),
    );
  }

  private refused(state: Extract<ClientConnectionState, { kind: 'contacting' }>): void {
    this.emit({ kind: 'versionRefused', version: state.version });
    this.contact(state.candidate + 1);
  }

  /** Posts on the negotiated message connection id. Callers checked that the client is connected. */
  private post(message: GuestToHostMessage): void {
    const s = this.state;
    const connectionId = s.kind === 'connected' || s.kind === 'unloading' ? s.messageConnectionId : initiateContactConnectionId(0);
    this.notifier.send(message, connectionId);
  }

  /** The live primary channel a sub-channel offer belongs to: same interface type and instance, index 0. */
  private primaryOf(offer: OfferChannelMessage): ChannelId | undefined {
    for (const [id, c] of this.channels) {
      if (c.offer.subChannelIndex === 0 && !c.rescinded && c.offer.interfaceType === offer.interfaceType && c.offer.interfaceInstance === offer.interfaceInstance) return id;
    }
    return undefined;
  }

  private subChannelIndexTaken(primary: ChannelId, index: number): boolean {
    for (const c of this.channels.values()) if (c.primary === primary && !c.rescinded && c.offer.subChannelIndex === index) return true;
    return false;
  }

  private knownChannel(id: ChannelId, what: string): ClientChannel {
    if (this.state.kind !== 'connected') throw new ChannelStateError(`${what} while ${this.state.kind}`);
    const c = this.channels.get(id);
    if (c === undefined) throw new ChannelStateError(`${what}: channel ${id} was not offered`);
    return c;
  }

  private liveChannel(id: ChannelId, what: string): ClientChannel {
    const c = this.knownChannel(id, what);
    if (c.rescinded) throw new ChannelStateError(`${what}: channel ${id} was rescinded`);
    return c;
  }

  private hostChannel(id: ChannelId, messageType: number): ClientChannel | undefined {
    const c = this.state.kind === 'connected' ? this.channels.get(id) : undefined;
    if (c === undefined) this.protocolError('unknown-channel', `channel ${id} is not offered`, messageType);
    return c;
  }

  private emit(event: ClientEvent): void {
    this.notifier.emit(event);
  }

  private protocolError(reason: ClientProtocolErrorReason, detail: string, messageType?: number): void {
    this.emit(messageType === undefined ? { kind: 'protocolError', reason, detail } : { kind: 'protocolError', reason, detail, messageType });
  }
}
