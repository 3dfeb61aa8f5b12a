/**
 * The echo device protocol, shared by the echo VSP (root) and VSC (guest): a Viridian test device.
 * A request is an in-band packet with completion requested; the reply is a completion with the
 * same transaction id and payload. Protocol file: constants only.
 */
import { parseGuid } from '../../protocol/guid.ts';

export const EchoProtocol = Object.freeze({
  /** Device class (`if_type`) of the echo device. */
  classId: parseGuid('8d6b8f0e-56a4-4a3b-9d2c-0f6e5c1b7a01'),
  /** Instance id of the first echo device. */
  defaultInstance: parseGuid('8d6b8f0e-56a4-4a3b-9d2c-0f6e5c1b7a02'),
  /** Ring size the VSC opens with, each way, control page included. */
  ringSize: 64 * 1024 + 4096,
});
