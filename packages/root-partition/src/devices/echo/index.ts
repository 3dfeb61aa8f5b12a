/**
 * The echo VSP.
 */
export { echoDevice } from './device.ts';
export type { EchoDevice, EchoDeviceOptions } from './device.ts';
export type { EchoMetrics } from './metrics.ts';
