/**
 * Counters of the echo VSP.
 */
export interface EchoMetrics {
  /** In-band requests echoed. */
  requests: number;
  /** Payload bytes echoed (padding included). */
  bytes: number;
  /** Packets of other kinds, ignored. */
  ignored: number;
}
