/**
 * The guest report device: how a Viridian guest kernel tells the root that its program finished,
 * and with what. One in-band packet from the guest: a 16-byte header (u32 outcome, u32 length of
 * the UTF-8 JSON body that follows, 8 reserved bytes), then the body. The VSP acknowledges with a
 * completion. Protocol file: constants and layout only.
 */
import { parseGuid } from '../../protocol/guid.ts';

export const ReportProtocol = Object.freeze({
  classId: parseGuid('8d6b8f0e-56a4-4a3b-9d2c-0f6e5c1b7b01'),
  defaultInstance: parseGuid('8d6b8f0e-56a4-4a3b-9d2c-0f6e5c1b7b02'),
  ringSize: 64 * 1024 + 4096,
  /** Largest JSON body: the report fits one packet of the ring. */
  MAX_BODY: 48 * 1024,
});

/** Header of the report packet. */
export const ReportHeader = Object.freeze({
  outcome: 0,
  bodyLength: 4,
  reserved: 8,
  SIZE: 16,
});

/** Values of `outcome`. */
export const ReportOutcome = Object.freeze({
  /** The program returned; the body is its result as JSON. */
  completed: 0,
  /** The program threw; the body is `{ name, message }`. */
  failed: 1,
} as const);
