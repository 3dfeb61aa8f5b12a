/**
 * @viridian/vmbus/testing: helpers for tests and benchmarks of VMBus traffic between threads.
 */

// Verifiable traffic patterns
export { TrafficPattern, TRAFFIC_HEADER, fnv1a, xorshift32 } from './traffic-pattern.ts';
export type { PayloadSizes } from './traffic-pattern.ts';

// Two-worker ring traffic
export { runRingTraffic } from './ring-traffic.ts';
export type { RingTrafficConfig, RingTrafficResult, TrafficRole } from './ring-traffic.ts';
export { startRingTrafficPair } from './ring-traffic-pair.ts';
export type { RingTrafficPair, RingTrafficPairOptions } from './ring-traffic-pair.ts';
