/**
 * Mail from the hypervisor: the buffers a hypercall hands to the calling VP (ViridianGetChildMemory,
 * ViridianGetSignalCell, ViridianGetDirectEventCells). The hypervisor posts the mail to the VP's
 * worker before it completes the call, so when the call returns the mail is already queued: it is
 * taken synchronously (`receiveMessageOnPort`), before the event loop could hand it to anyone else.
 * Mail is only ever the answer to the call just made, so anything else queued ahead is stale and
 * dropped.
 */
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';

/** Takes the first queued mail `accept` says yes to (dropping what comes before), or undefined. */
export type MailReader = <T>(accept: (body: unknown) => body is T) => T | undefined;

/** Mail through the worker's parent port (a VP in its worker). */
export const workerMail: MailReader = <T>(accept: (body: unknown) => body is T): T | undefined => {
  if (!parentPort) return undefined;
  for (let message = receiveMessageOnPort(parentPort); message; message = receiveMessageOnPort(parentPort)) {
    if (accept(message.message)) return message.message;
  }
  return undefined;
};

/** Mail through an array the hypervisor side pushes to (a VP driven in-process by tests). */
export function queueMail(queue: unknown[]): MailReader {
  return <T>(accept: (body: unknown) => body is T): T | undefined => {
    while (queue.length > 0) {
      const body = queue.shift();
      if (accept(body)) return body;
    }
    return undefined;
  };
}

/** Whether `body` is an object whose `kind` is `kind`. */
export function isMail(body: unknown, kind: string): body is { readonly kind: string } & Record<string, unknown> {
  return typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === kind;
}
