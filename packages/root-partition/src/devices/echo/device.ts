/**
 * The echo VSP: answers every in-band packet with a completion carrying the same payload and
 * transaction id. The smallest real device: the reference for the VSP framework, its tests and
 * the `vmbus` benchmark.
 */
import { EchoProtocol, type Guid } from '@viridian/vmbus';
import type { VmbusDevice } from '../../vmbus/vmbus-device.ts';
import type { EchoMetrics } from './metrics.ts';

/** Options of an echo device. */
export interface EchoDeviceOptions {
  /** The instance id (default: the protocol's default instance). */
  readonly instance?: Guid;
  /** Counters to update (default: a fresh set, reachable as `device.metrics`). */
  readonly metrics?: EchoMetrics;
}

/** An echo VSP with its counters. */
export interface EchoDevice extends VmbusDevice {
  readonly metrics: EchoMetrics;
}

export function echoDevice(options: EchoDeviceOptions = {}): EchoDevice {
  const metrics: EchoMetrics = options.metrics ?? { requests: 0, bytes: 0, ignored: 0 };
  return {
    name: 'echo',
    metrics,
    offer: { interfaceType: EchoProtocol.classId, interfaceInstance: options.instance ?? EchoProtocol.defaultInstance },
    open: () => ({
      onPacket(packet, channel) {
        if (packet.kind !== 'inband') {
          metrics.ignored++;
          return;
        }
        metrics.requests++;
        metrics.bytes += packet.payloadLength;
        channel.complete(packet.bytes.subarray(packet.payloadOffset, packet.payloadOffset + packet.payloadLength), packet.transactionIdNumber ?? packet.transactionId);
      },
    }),
  };
}
