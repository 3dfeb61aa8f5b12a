/**
 * The synthetic SCSI controller's shared protocol: vstor layouts and numbers, SCSI numbers and
 * layouts, and the vstor codec.
 */
export * from './protocol.ts';
export * from './scsi.ts';
export * from './codec.ts';
