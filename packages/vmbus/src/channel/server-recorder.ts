/**
 * A `ServerNotifier` that records what the sans-IO VMBus server sends and emits, for tests of the
 * server's state machine (and of devices driven through it): take the batch since the last take,
 * or just the protocol errors it reported.
 */
import type { HostToGuestMessage } from '../protocol/channel-messages.ts';
import type { ServerEvent, ServerNotifier } from './server-events.ts';

export class ServerRecorder implements ServerNotifier {
  sent: HostToGuestMessage[] = [];
  events: ServerEvent[] = [];

  send(message: HostToGuestMessage): void {
    this.sent.push(message);
  }

  emit(event: ServerEvent): void {
    this.events.push(event);
  }

  /** What was sent and emitted since the last take. */
  take(): { sent: HostToGuestMessage[]; events: ServerEvent[] } {
    const out = { sent: this.sent, events: this.events };
    this.sent = [];
    this.events = [];
    return out;
  }

  /** Takes the batch and returns the reasons of its protocol errors. */
  errors(): string[] {
    return this.take().events.flatMap((e) => (e.kind === 'protocolError' ? [e.reason] : []));
  }
}
