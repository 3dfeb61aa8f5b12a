/**
 * The guest report VSP: receives the guest kernel's one report (its program's outcome and JSON
 * result), validates it, and hands it to `onReport`. A malformed report is refused (counted and
 * logged at a limited rate by the channel), never thrown.
 */
import { ReportHeader, ReportOutcome, ReportProtocol, type Guid } from '@viridian/vmbus';
import type { VmbusDevice } from '../../vmbus/vmbus-device.ts';

/** A guest program's outcome. */
export type GuestReport = { readonly outcome: 'completed'; readonly result: unknown } | { readonly outcome: 'failed'; readonly error: { name: string; message: string } };

/** Why a report was refused. */
export type ReportRefusal = 'short' | 'bad-length' | 'bad-outcome' | 'bad-json';

export interface ReportDeviceOptions {
  readonly instance?: Guid;
  readonly onReport: (report: GuestReport) => void;
  readonly onRefused?: (reason: ReportRefusal) => void;
}

/** Parses a report packet's payload (the only place its bytes are interpreted). */
export function parseReport(payload: Uint8Array): GuestReport | ReportRefusal {
  if (payload.length < ReportHeader.SIZE) return 'short';
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const outcome = view.getUint32(ReportHeader.outcome, true);
  const length = view.getUint32(ReportHeader.bodyLength, true);
  if (length > ReportProtocol.MAX_BODY || length > payload.length - ReportHeader.SIZE) return 'bad-length';
  if (outcome !== ReportOutcome.completed && outcome !== ReportOutcome.failed) return 'bad-outcome';
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(ReportHeader.SIZE, ReportHeader.SIZE + length)));
  } catch {
    return 'bad-json';
  }
  if (outcome === ReportOutcome.completed) return { outcome: 'completed', result: body };
  const error = body as { name?: unknown; message?: unknown } | null;
  // Only strings are taken from the guest: an object with a hostile toString is never called.
  const name = typeof error?.name === 'string' ? error.name : 'Error';
  const message = typeof error?.message === 'string' ? error.message : '';
  return { outcome: 'failed', error: { name, message } };
}

export function reportDevice(options: ReportDeviceOptions): VmbusDevice {
  return {
    name: 'report',
    offer: { interfaceType: ReportProtocol.classId, interfaceInstance: options.instance ?? ReportProtocol.defaultInstance },
    open: () => ({
      onPacket(packet, channel) {
        if (packet.kind !== 'inband') return;
        const report = parseReport(packet.bytes.subarray(packet.payloadOffset, packet.payloadOffset + packet.payloadLength));
        try {
          if (typeof report === 'string') options.onRefused?.(report);
          else options.onReport(report);
        } catch {
          // The listener's failure is the root's own: it must not stop the guest's channel.
        }
        if (packet.completionRequested) channel.complete(new Uint8Array(0), packet.transactionId);
      },
    }),
  };
}
