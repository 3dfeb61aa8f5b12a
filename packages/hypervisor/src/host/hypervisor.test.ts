/**
 * Worker tests: the real machine. The root partition runs `fixtures/test-root.ts` in its own VP
 * worker and creates children through hypercalls; the test awaits what the root forwards and the
 * hypervisor's events. Never sleeps: every wait is on an event.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { CrashReason } from '../abi/inputs.ts';
import { Hypervisor } from './hypervisor.ts';
import type { TestChildSpec } from '../fixtures/test-root.ts';

const ROOT = new URL('../fixtures/test-root.ts', import.meta.url);
type Forwarded = { kind: string; child?: number; [key: string]: unknown };

let hv: Hypervisor | undefined;
afterEach(async () => {
  await hv?.shutdown();
  hv = undefined;
});

function boot(children: TestChildSpec[]): { hv: Hypervisor; port: MessagePort; next: (match: (m: Forwarded) => boolean) => Promise<Forwarded> } {
  const { port1, port2 } = new MessageChannel();
  const machine = Hypervisor.boot({
    memoryBytes: 256 * 1024 * 1024,
    logger: pino({ level: 'silent' }),
    root: { entry: ROOT, data: { port: port2, children }, transferList: [port2] },
  });
  hv = machine;
  const received: Forwarded[] = [];
  const waiters: { match: (m: Forwarded) => boolean; resolve: (m: Forwarded) => void }[] = [];
  port1.on('message', (m: Forwarded) => {
    received.push(m);
    for (const w of [...waiters]) if (w.match(m)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  const next = (match: (m: Forwarded) => boolean) =>
    new Promise<Forwarded>((resolve) => {
      const seen = received.find(match);
      if (seen) resolve(seen);
      else waiters.push({ match, resolve });
    });
  return { hv: machine, port: port1, next };
}

describe('Hypervisor (worker threads)', () => {
  it('boots the root, which creates children that post a message and signal an event to it', async () => {
    const { next, port } = boot([{ behavior: 'hello' }, { behavior: 'hello' }]);
    const ready = await next((m) => m.kind === 'ready');
    expect(ready.ids).toHaveLength(2);
    for (const child of [0, 1]) {
      expect(await next((m) => m.kind === 'message' && m.child === child)).toMatchObject({ type: 1, payload: [1, 2, 3, child] });
      await next((m) => m.kind === 'event' && m.child === child);
    }
    port.close();
  });

  it('routes an intercepted I/O access to the parent, which completes it; other ports read all ones', async () => {
    const { next, port } = boot([{ behavior: 'io', interceptPort: 0x3f8 }]);
    expect(await next((m) => m.kind === 'intercept' && m.write === false)).toMatchObject({ child: 0, port: 0x3f8 });
    expect(await next((m) => m.kind === 'intercept' && m.write === true)).toMatchObject({ port: 0x3f8, value: 0x99 });
    // status 0, value 0x42 + 0xf8 (masked to a byte), write status 0, port 0x80 read 0xffff.
    expect(await next((m) => m.kind === 'message')).toMatchObject({ type: 2, payload: [0, (0x42 + 0xf8) & 0xff, 0, 0xff, 0xff] });
    port.close();
  });

  it('a child that throws, exits or exhausts its heap crashes alone while two others keep exchanging messages', async () => {
    const { hv: machine, next, port } = boot([
      { behavior: 'pair', peer: 1, initiator: true },
      { behavior: 'pair', peer: 0 },
      { behavior: 'throw' },
      { behavior: 'exit' },
      { behavior: 'oom', heapLimitMb: 16 },
    ]);
    const crashes = firstValueFrom(machine.events$.pipe(filter((e) => e.kind === 'partition-crashed'), take(3), toArray()));
    const progress = (child: number, atLeast: number) =>
      next((m) => m.kind === 'message' && m.child === child && m.type === 3 && new DataView(Uint8Array.from(m.payload as number[]).buffer).getUint32(0, true) >= atLeast);
    const events = await crashes;
    expect(events.map((e) => (e.kind === 'partition-crashed' ? e.reason : 0)).sort()).toEqual([CrashReason.Exception, CrashReason.Exit, CrashReason.OutOfMemory].sort());
    for (const child of [2, 3, 4]) await next((m) => m.kind === 'crash' && m.child === child);
    expect(await next((m) => m.kind === 'crash' && m.child === 3)).toMatchObject({ exitCode: 7 });
    // The pair keeps going after every crash, without a single failed post.
    const after = await progress(0, 200);
    const base = new DataView(Uint8Array.from(after.payload as number[]).buffer).getUint32(0, true);
    for (const child of [0, 1]) {
      const report = await progress(child, base + 400);
      expect(new DataView(Uint8Array.from(report.payload as number[]).buffer).getUint32(4, true)).toBe(0);
    }
    expect(machine.metrics().crashes).toBe(3);
    expect(machine.metrics().internalErrors).toBe(0);
    // The crashed children's memory went back to the root's pool: only the root and pair remain mapped.
    expect(machine.memoryStats().mappedPages).toBe(4096 + 2 * 64);
    port.close();
  });
});
