/** The pending-request table: ids, lookups of ids it never gave or already took back, growth. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PendingRequests, type PendingRequest } from './pending-requests.ts';

function waiter(): PendingRequest & { payloads: Uint8Array[] } {
  const payloads: Uint8Array[] = [];
  return { payloads, resolve: (p) => payloads.push(p), reject: () => {} };
}

describe('PendingRequests', () => {
  it('gives each request a distinct positive safe id and takes it back once', () => {
    const table = new PendingRequests();
    const a = waiter();
    const b = waiter();
    const idA = table.add(a);
    const idB = table.add(b);
    expect(idA).not.toBe(idB);
    for (const id of [idA, idB]) expect(Number.isSafeInteger(id) && id > 0).toBe(true);
    expect(table.size).toBe(2);
    expect(table.take(idB)).toBe(b);
    expect(table.take(idB)).toBeUndefined(); // a second completion for the same request
    expect(table.take(idA)).toBe(a);
    expect(table.size).toBe(0);
  });

  it('counts ids up from 1, skipping an id whose slot a long-lived request still holds', () => {
    const table = new PendingRequests();
    const stuck = table.add(waiter());
    expect(stuck).toBe(1);
    const seen: number[] = [];
    for (let i = 0; i < 200; i++) {
      const id = table.add(waiter());
      seen.push(id);
      table.take(id);
    }
    expect(seen.slice(0, 3)).toEqual([2, 3, 4]);
    expect(seen).not.toContain(65); // slot 1 of the 64-slot table is the stuck request's
    expect(new Set(seen).size).toBe(200);
    expect(table.take(stuck)).toBeDefined();
  });

  it('does not match an id whose slot was reused by a later request', () => {
    const table = new PendingRequests();
    const first = table.add(waiter());
    table.take(first);
    const second = waiter();
    const secondId = table.add(second); // the same slot, a new sequence
    expect(secondId).not.toBe(first);
    expect(table.take(first)).toBeUndefined();
    expect(table.take(secondId)).toBe(second);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 123_456_789_012])('finds nothing for id %s', (id) => {
    const table = new PendingRequests();
    table.add(waiter());
    expect(table.take(id)).toBeUndefined();
    expect(table.size).toBe(1);
  });

  it('grows past its first 64 slots and keeps every request findable', () => {
    const table = new PendingRequests();
    const entries = Array.from({ length: 1000 }, () => {
      const w = waiter();
      return { w, id: table.add(w) };
    });
    expect(new Set(entries.map((e) => e.id)).size).toBe(1000);
    for (const { w, id } of entries.reverse()) expect(table.take(id)).toBe(w);
    expect(table.size).toBe(0);
  });

  it('takeAll empties the table and returns each request once', () => {
    const table = new PendingRequests();
    const ws = [waiter(), waiter(), waiter()];
    const ids = ws.map((w) => table.add(w));
    table.take(ids[1]!);
    expect(table.takeAll()).toEqual([ws[0], ws[2]]);
    expect(table.size).toBe(0);
    for (const id of ids) expect(table.take(id)).toBeUndefined();
  });

  it('matches a model under random adds, takes and forged ids', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant({ op: 'add' as const }), fc.record({ op: fc.constant('take' as const), pick: fc.nat() }), fc.record({ op: fc.constant('forge' as const), id: fc.double() }))), (ops) => {
        const table = new PendingRequests();
        const model = new Map<number, PendingRequest>();
        const everIssued = new Set<number>();
        for (const step of ops) {
          if (step.op === 'add') {
            const w = waiter();
            const id = table.add(w);
            expect(everIssued.has(id)).toBe(false);
            everIssued.add(id);
            model.set(id, w);
          } else if (step.op === 'take') {
            const ids = [...everIssued];
            if (ids.length === 0) continue;
            const id = ids[step.pick % ids.length]!;
            expect(table.take(id)).toBe(model.get(id));
            model.delete(id);
          } else if (!everIssued.has(step.id)) {
            expect(table.take(step.id)).toBeUndefined();
          }
          expect(table.size).toBe(model.size);
        }
      }),
    );
  });
});
