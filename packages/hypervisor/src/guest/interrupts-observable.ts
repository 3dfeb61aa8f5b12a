/**
 * SINT interrupts as an rxjs observable: each value is the mask of SINTs delivered in one batch.
 * Subscribing starts an `onInterrupt` loop; unsubscribing stops it. Kept apart from
 * `interrupts.ts` so VPs that only block on the doorbell do not load rxjs.
 */
import { Observable } from 'rxjs';
import type { InterruptDoorbell } from './interrupts.ts';

/** The doorbell's deliveries as an observable of SINT masks. */
export function interrupts$(doorbell: InterruptDoorbell): Observable<number> {
  return new Observable<number>((subscriber) => doorbell.onInterrupt((mask) => subscriber.next(mask)));
}
