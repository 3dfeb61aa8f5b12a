/**
 * storvsp: the synthetic SCSI controller's VSP and its SCSI target.
 */
export { storvspDevice } from './device.ts';
export type { StorvspDevice, StorvspOptions } from './device.ts';
export type { StorvspMetrics } from './metrics.ts';
export { newStorvspMetrics } from './metrics.ts';
export { parseStorvspPacket, GuestDataBuffer } from './parse.ts';
export type { StorvspRequest, StorvspMalformedReason } from './parse.ts';
export { initStep, saveState, restoreState, INITIAL_STATE } from './state.ts';
export type { StorvspInitState, InitMessage, InitStep, StorvspSavedState } from './state.ts';
export { ScsiController, ScsiDisk, INVALID_LUN, parseCdb, ArrayDataBuffer } from './scsi/index.ts';
export type { ScsiCommand, ScsiDataBuffer, ScsiOutcome } from './scsi/index.ts';
