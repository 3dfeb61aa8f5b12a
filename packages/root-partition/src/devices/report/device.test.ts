import { describe, expect, it } from 'vitest';
import { ReportHeader, ReportOutcome } from '@viridian/vmbus';
import { parseReport } from './device.ts';

function report(outcome: number, body: string, declared?: number): Uint8Array {
  const json = new TextEncoder().encode(body);
  const bytes = new Uint8Array(ReportHeader.SIZE + json.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(ReportHeader.outcome, outcome, true);
  view.setUint32(ReportHeader.bodyLength, declared ?? json.length, true);
  bytes.set(json, ReportHeader.SIZE);
  return bytes;
}

describe('parseReport (guest-controlled bytes)', () => {
  it('decodes a completed and a failed report', () => {
    expect(parseReport(report(ReportOutcome.completed, '{"a":1}'))).toEqual({ outcome: 'completed', result: { a: 1 } });
    expect(parseReport(report(ReportOutcome.failed, '{"name":"RangeError","message":"no"}'))).toEqual({ outcome: 'failed', error: { name: 'RangeError', message: 'no' } });
  });

  it('refuses every malformed report with a reason, never a throw', () => {
    expect(parseReport(new Uint8Array(3))).toBe('short');
    expect(parseReport(report(ReportOutcome.completed, '{}', 1000))).toBe('bad-length');
    expect(parseReport(report(7, '{}'))).toBe('bad-outcome');
    expect(parseReport(report(ReportOutcome.completed, '{not json'))).toBe('bad-json');
    expect(parseReport(Uint8Array.of(...report(ReportOutcome.completed, '"x"').subarray(0, ReportHeader.SIZE), 0xff))).toBe('bad-length');
  });

  it('never calls a guest-supplied toString: non-string names and messages are replaced', () => {
    expect(parseReport(report(ReportOutcome.failed, '{"name":{"toString":0},"message":[1,2]}'))).toEqual({ outcome: 'failed', error: { name: 'Error', message: '' } });
    expect(parseReport(report(ReportOutcome.failed, 'null'))).toEqual({ outcome: 'failed', error: { name: 'Error', message: '' } });
  });
});
