/**
 * The echo VSC: sends requests to the echo VSP and resolves with the echoed bytes.
 */
import { EchoProtocol } from '@viridian/vmbus';
import type { GuestChannel } from '../../vmbus/guest-channel.ts';
import type { VscDriver } from '../vsc-driver.ts';

/** An echo device as guest programs see it. */
export class EchoClient {
  constructor(readonly channel: GuestChannel) {}

  /** Sends `payload` and resolves with the echo, trimmed to the payload's length. */
  echo(payload: Uint8Array): Promise<Uint8Array> {
    const length = payload.length;
    return this.channel.request(payload).then((reply) => (reply.length === length ? reply : reply.subarray(0, length)));
  }
}

export const echoDriver: VscDriver<EchoClient> = {
  name: 'echo',
  classId: EchoProtocol.classId,
  rings: { sendRingBytes: EchoProtocol.ringSize, receiveRingBytes: EchoProtocol.ringSize },
  attach: (channel) => new EchoClient(channel),
};
