/**
 * The management service's hold on one device's channel for tests and tracing: observation
 * (every packet both ways, forwarded to the host while it asks) and fault injection
 * ({@link ChannelFaults}). A tap wraps the device before it is offered, so that every channel the
 * guest opens on it (the first, or one reopened later) is tapped from its first packet; state the
 * host set before the guest opened (observation, armed faults, a held ring) applies at once. The
 * device's own handler serves the channel: an untouched tap adds nothing to the data path.
 */
import type { Subscription } from 'rxjs';
import type { GuestRingState, HostChannel, ObservedPacket } from '../vmbus/host-channel.ts';
import type { VmbusDevice } from '../vmbus/vmbus-device.ts';
import { ChannelFaults } from './management-faults.ts';
import type { ChannelFault } from './management-protocol.ts';

/** Where a tap sends what it sees. */
export interface TapSink {
  packet(packet: ObservedPacket): void;
  ringFull(state: GuestRingState): void;
}

export class DeviceTap {
  private readonly faults: ChannelFaults;
  private observing = false;
  private channel: HostChannel | undefined;
  private subscription: Subscription | undefined;

  constructor(private readonly sink: TapSink) {
    this.faults = new ChannelFaults((state) => sink.ringFull(state));
  }

  /** `device`, with every channel it opens tapped (the device's handler itself serves the channel). */
  wrap(device: VmbusDevice): VmbusDevice {
    return {
      name: device.name,
      offer: device.offer,
      open: async (channel) => {
        const handler = await device.open(channel);
        this.attach(channel);
        channel.onServiceEnded(() => this.detach(channel));
        return handler;
      },
    };
  }

  /** Starts or stops forwarding the channel's packets. */
  observe(on: boolean): void {
    this.observing = on;
    if (this.channel) this.subscribe(this.channel);
  }

  /** Arms or clears a fault (checked by `parseFault`). */
  inject(fault: ChannelFault): void {
    this.faults.inject(fault);
  }

  /** The VM is going away. */
  dispose(): void {
    this.faults.dispose();
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  private attach(channel: HostChannel): void {
    this.channel = channel;
    this.faults.attach(channel);
    this.subscribe(channel);
  }

  private detach(channel: HostChannel): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.faults.detach(channel);
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  /** Subscribes to the channel's packets while observing (and only then: they are copied per packet). */
  private subscribe(channel: HostChannel): void {
    if (!this.observing) {
      this.subscription?.unsubscribe();
      this.subscription = undefined;
      return;
    }
    if (this.subscription) return;
    const forward = (packet: ObservedPacket): void => this.sink.packet(packet);
    this.subscription = channel.received$.subscribe(forward);
    this.subscription.add(channel.sent$.subscribe(forward));
  }
}
