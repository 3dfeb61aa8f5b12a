/**
 * SINT interrupts as an rxjs observable: each value is the mask of SINTs delivered in one batch.
 * Subscribing starts an `onInterrupt` loop; unsubscribing stops it. Kept apart from
 * `interrupts.ts` so VPs that only block on the doorbell do not load rxjs.
 *
 * rxjs is loaded on the first call, not when the guest library is imported: its CommonJS build is
 * some 400 files, which cost every VP worker about 90 ms of start-up and 5.5 MB (measured on Node
 * 20) even when it never calls `interrupts$`.
 */
import { createRequire } from 'node:module';
import type * as Rx from 'rxjs';
import type { InterruptDoorbell } from './interrupts.ts';

let rx: typeof Rx | undefined;

/** The doorbell's deliveries as an observable of SINT masks. */
export function interrupts$(doorbell: InterruptDoorbell): Rx.Observable<number> {
  rx ??= createRequire(import.meta.url)('rxjs') as typeof Rx;
  return new rx.Observable<number>((subscriber) => doorbell.onInterrupt((mask) => subscriber.next(mask)));
}
