/**
 * Counters of one storvsp device (all its channels).
 */
import type { StorvspMalformedReason } from './parse.ts';

export interface StorvspMetrics {
  /** SRBs executed (EXECUTE_SRB accepted). */
  srbs: number;
  reads: number;
  writes: number;
  bytesRead: number;
  bytesWritten: number;
  flushes: number;
  unmaps: number;
  /** SRBs answered with CHECK CONDITION. */
  checkConditions: number;
  /** SRBs to a LUN without a disk. */
  invalidLun: number;
  /** SRBs refused with BUSY because the channel already had the maximum in flight. */
  busy: number;
  /** Most SRBs in flight at once on one channel. */
  maxInFlight: number;
  /** Control messages out of order, SRBs before END_INITIALIZATION. */
  protocolErrors: number;
  /** Malformed packets, in all and per reason. */
  malformed: number;
  malformedReasons: Partial<Record<StorvspMalformedReason, number>>;
}

export function newStorvspMetrics(): StorvspMetrics {
  return { srbs: 0, reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, flushes: 0, unmaps: 0, checkConditions: 0, invalidLun: 0, busy: 0, maxInFlight: 0, protocolErrors: 0, malformed: 0, malformedReasons: {} };
}
