/**
 * The guest report VSC: sends the guest program's outcome to the root, once.
 */
import { ReportHeader, ReportOutcome, ReportProtocol } from '@viridian/vmbus';
import type { GuestChannel } from '../../vmbus/guest-channel.ts';
import type { VscDriver } from '../vsc-driver.ts';

export class ReportClient {
  constructor(readonly channel: GuestChannel) {}

  /** Reports that the program returned `result` (JSON-serialised; `undefined` becomes null). */
  completed(result: unknown): Promise<void> {
    return this.send(ReportOutcome.completed, result === undefined ? null : result);
  }

  /** Reports that the program threw `error`. */
  failed(error: unknown): Promise<void> {
    const e = error instanceof Error ? error : new Error(String(error));
    return this.send(ReportOutcome.failed, { name: e.name, message: e.message });
  }

  private async send(outcome: number, body: unknown): Promise<void> {
    let json = new TextEncoder().encode(JSON.stringify(body));
    if (json.length > ReportProtocol.MAX_BODY) json = new TextEncoder().encode(JSON.stringify({ truncated: true, bytes: json.length }));
    const payload = new Uint8Array(ReportHeader.SIZE + json.length);
    const view = new DataView(payload.buffer);
    view.setUint32(ReportHeader.outcome, outcome, true);
    view.setUint32(ReportHeader.bodyLength, json.length, true);
    payload.set(json, ReportHeader.SIZE);
    await this.channel.request(payload);
  }
}

export const reportDriver: VscDriver<ReportClient> = {
  name: 'report',
  classId: ReportProtocol.classId,
  rings: { sendRingBytes: ReportProtocol.ringSize, receiveRingBytes: 8192 },
  attach: (channel) => new ReportClient(channel),
};
