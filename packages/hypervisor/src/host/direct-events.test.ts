import { describe, expect, it } from 'vitest';
import { ANY_VP } from '../abi/ids.ts';
import { DirectEventCellLayout } from '../abi/direct-events.ts';
import { HvCallCode } from '../abi/call-codes.ts';
import { HvStatus } from '../abi/status.ts';
import { VpPageLayout } from '../abi/vp-page.ts';
import { enableSynic, makeChild } from '../testing/children.ts';
import { testMachine } from '../testing/in-process.ts';

const ROOT_EVENT_PORT = 11;
const CHILD_CONNECTION = 2;
const SUMMARY = DirectEventCellLayout.SUMMARY >> 2;
const FLAGS = DirectEventCellLayout.FLAGS >> 2;

/** Root event port 11 (SINT 3, flags 5..9 on VP 0) reached by the child's connection 2. */
function wired() {
  const m = testMachine();
  const root = m.rootVp;
  enableSynic(root);
  const child = makeChild(m);
  const hc = root.ctx.hypercalls;
  expect(hc.createPort(m.root.id, ROOT_EVENT_PORT, child.partition.id, { type: 'event', sint: 3, vp: 0, baseFlag: 5, flagCount: 5 })).toBe(HvStatus.SUCCESS);
  expect(hc.connectPort(child.partition.id, CHILD_CONNECTION, m.root.id, ROOT_EVENT_PORT, 'event')).toBe(HvStatus.SUCCESS);
  const port = () => m.root.ports.get(ROOT_EVENT_PORT);
  return { m, root, child, hc, c: child.vp.ctx.hypercalls, port };
}

/** Starts the root's interrupt loop; resolves each SINT mask the handler sees. */
function listen(root: ReturnType<typeof wired>['root']) {
  const seen: number[] = [];
  let waiter: (() => void) | undefined;
  const stop = root.ctx.onInterrupt((mask) => {
    seen.push(mask);
    waiter?.();
  });
  const next = () => new Promise<void>((resolve) => (waiter = resolve));
  return { seen, stop, next };
}

function rootFlags(root: ReturnType<typeof wired>['root']): number[] {
  const flags: number[] = [];
  root.ctx.synic.takeEventFlags(3, (f) => flags.push(f));
  return flags.sort((a, b) => a - b);
}

describe('direct event cells (Viridian extension)', () => {
  it('without the target opting in, SignalEvent goes through the hypervisor and no cell is handed out', () => {
    const { m, c } = wired();
    expect(c.getSignalCell(CHILD_CONNECTION)).toBe(HvStatus.FEATURE_UNAVAILABLE);
    expect(c.signalEvent(CHILD_CONNECTION, 1)).toBe(HvStatus.SUCCESS);
    expect(m.core.metrics.eventsSignalled).toBe(1);
    expect(c.signalCells!.direct).toBe(0);
  });

  it('once the target opts in, a signal goes through the cell: no hypercall, the flag lands in the SIEF page, the handler runs', async () => {
    const { m, root, c, port } = wired();
    const l = listen(root);
    try {
      const woken = l.next();
      expect(c.signalEvent(CHILD_CONNECTION, 4)).toBe(HvStatus.SUCCESS);
      expect(port()!.directCell).toBeDefined();
      await woken;
      expect(l.seen).toContain(1 << 3);
      expect(rootFlags(root)).toEqual([9]);
      expect(m.core.metrics.eventsSignalled).toBe(0);
      expect(c.signalCells!.direct).toBe(1);
      // Out-of-range flags still get the hypercall's answer.
      expect(c.signalEvent(CHILD_CONNECTION, 5)).toBe(HvStatus.INVALID_PARAMETER);
    } finally {
      l.stop();
    }
  });

  it('signals before the target drains are coalesced into one wake and none is lost', async () => {
    const { root, c } = wired();
    const l = listen(root);
    try {
      const woken = l.next();
      for (const flag of [0, 1, 2, 3, 4, 0, 2]) expect(c.signalEvent(CHILD_CONNECTION, flag)).toBe(HvStatus.SUCCESS);
      await woken;
      expect(rootFlags(root)).toEqual([5, 6, 7, 8, 9]);
    } finally {
      l.stop();
    }
  });

  it('disconnecting revokes the cell: the signaller gets INVALID_CONNECTION_ID and writes into the old cell are ignored', async () => {
    const { m, root, c, hc, child, port } = wired();
    const l = listen(root);
    try {
      const woken = l.next();
      expect(c.signalEvent(CHILD_CONNECTION, 0)).toBe(HvStatus.SUCCESS);
      await woken;
      rootFlags(root);
      const old = new Int32Array(port()!.directCell!.buffer);
      expect(hc.disconnectPort(child.partition.id, CHILD_CONNECTION)).toBe(HvStatus.SUCCESS);
      expect(port()!.directCell).toBeUndefined();
      expect(c.signalEvent(CHILD_CONNECTION, 0)).toBe(HvStatus.INVALID_CONNECTION_ID);
      // A hostile child keeps writing into the revoked cell: nobody listens any more.
      const wakes = root.ctx.directEvents.wakes;
      Atomics.or(old, FLAGS, 0b11111);
      Atomics.store(old, SUMMARY, 1);
      Atomics.notify(old, SUMMARY);
      await new Promise((resolve) => setImmediate(resolve));
      expect(root.ctx.directEvents.wakes).toBe(wakes);
      expect(rootFlags(root)).toEqual([]);
      expect(m.core.metrics.eventsSignalled).toBe(0);
    } finally {
      l.stop();
    }
  });

  it('a signal racing a revocation is delivered by the hypervisor (flags left in the cell move into the SIEF page)', () => {
    const { m, root, c, port } = wired();
    expect(root.ctx.hypercalls.enableDirectEvents(true)).toBe(HvStatus.SUCCESS);
    expect(c.signalEvent(CHILD_CONNECTION, 3)).toBe(HvStatus.SUCCESS); // into the cell; the root is not draining
    const before = root.ctx.interrupts.sequence;
    m.core.deletePort(port()!);
    expect(rootFlags(root)).toEqual([8]);
    expect(root.ctx.interrupts.sequence).toBeGreaterThan(before);
    expect(root.ctx.interrupts.takePending() & (1 << 3)).toBe(1 << 3);
    expect(c.signalEvent(CHILD_CONNECTION, 3)).toBe(HvStatus.INVALID_PORT_ID);
  });

  it('a hostile cell (bits beyond the flag count, SUMMARY set with no flags) yields only the port\'s own flags', async () => {
    const { root, c, port } = wired();
    const l = listen(root);
    try {
      const woken = l.next();
      expect(c.signalEvent(CHILD_CONNECTION, 1)).toBe(HvStatus.SUCCESS);
      await woken;
      rootFlags(root);
      const cell = new Int32Array(port()!.directCell!.buffer);
      const again = l.next();
      Atomics.store(cell, FLAGS, -1); // all 32 bits, only 5 are the port's
      Atomics.store(cell, SUMMARY, 0x7fffffff);
      Atomics.notify(cell, SUMMARY);
      await again;
      expect(rootFlags(root)).toEqual([5, 6, 7, 8, 9]);
      const wakes = root.ctx.directEvents.wakes;
      Atomics.store(cell, SUMMARY, 1); // nothing behind it
      Atomics.notify(cell, SUMMARY);
      await new Promise((resolve) => setImmediate(resolve));
      expect(root.ctx.directEvents.wakes).toBe(wakes);
      // A storm of empty wakes gets the cell put aside instead of spinning the event loop.
      for (let i = 0; i < 200 && root.ctx.directEvents.storms === 0; i++) {
        Atomics.store(cell, SUMMARY, 1);
        Atomics.notify(cell, SUMMARY);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(root.ctx.directEvents.storms).toBeGreaterThan(0);
      expect(root.ctx.directEvents.wakes).toBe(wakes);
    } finally {
      l.stop();
    }
  });

  it('opting out moves signallers back to the hypercall', async () => {
    const { m, root, c } = wired();
    const l = listen(root);
    const woken = l.next();
    expect(c.signalEvent(CHILD_CONNECTION, 0)).toBe(HvStatus.SUCCESS);
    await woken;
    l.stop();
    expect(c.signalEvent(CHILD_CONNECTION, 1)).toBe(HvStatus.SUCCESS);
    expect(m.core.metrics.eventsSignalled).toBe(1);
    expect(rootFlags(root)).toEqual([5, 6]);
  });

  it('the target learns of new cells through its doorbell and its generation word', () => {
    const { root, c } = wired();
    expect(root.ctx.hypercalls.enableDirectEvents(true)).toBe(HvStatus.SUCCESS);
    const generation = Atomics.load(root.ctx.exits.words, VpPageLayout.DIRECT_EVENTS_GENERATION >> 2);
    const sequence = root.ctx.interrupts.sequence;
    expect(c.signalEvent(CHILD_CONNECTION, 0)).toBe(HvStatus.SUCCESS);
    expect(Atomics.load(root.ctx.exits.words, VpPageLayout.DIRECT_EVENTS_GENERATION >> 2)).not.toBe(generation);
    expect(root.ctx.interrupts.sequence).not.toBe(sequence);
  });

  it('validates every input: reserved bits, unknown and message connections, ports to any VP, VPs that did not opt in', () => {
    const { m, root, c, hc, child } = wired();
    // EnableDirectEvents: only 0 or 1, reserved 0.
    const r = root.ctx.hypercalls;
    r.input.setUint32(0, 2, true);
    r.input.setUint32(4, 0, true);
    expect(r.call(HvCallCode.ViridianEnableDirectEvents).status).toBe(HvStatus.INVALID_PARAMETER);
    r.input.setUint32(0, 1, true);
    r.input.setUint32(4, 1, true);
    expect(r.call(HvCallCode.ViridianEnableDirectEvents).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(r.getDirectEventCells()).toBe(HvStatus.FEATURE_UNAVAILABLE);
    // GetSignalCell.
    c.input.setUint32(0, CHILD_CONNECTION, true);
    c.input.setUint32(4, 7, true);
    expect(c.call(HvCallCode.ViridianGetSignalCell).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(c.getSignalCell(99)).toBe(HvStatus.INVALID_CONNECTION_ID);
    expect(hc.createPort(m.root.id, 12, child.partition.id, { type: 'message', sint: 2, vp: 0 })).toBe(HvStatus.SUCCESS);
    expect(hc.connectPort(child.partition.id, 3, m.root.id, 12, 'message')).toBe(HvStatus.SUCCESS);
    expect(c.getSignalCell(3)).toBe(HvStatus.INVALID_PORT_ID);
    expect(hc.createPort(m.root.id, 13, child.partition.id, { type: 'event', sint: 3, vp: ANY_VP, flagCount: 1 })).toBe(HvStatus.SUCCESS);
    expect(hc.connectPort(child.partition.id, 4, m.root.id, 13, 'event')).toBe(HvStatus.SUCCESS);
    expect(r.enableDirectEvents(true)).toBe(HvStatus.SUCCESS);
    expect(c.getSignalCell(4)).toBe(HvStatus.FEATURE_UNAVAILABLE);
    expect(c.getSignalCell(CHILD_CONNECTION)).toBe(HvStatus.SUCCESS);
    // A child without SignalEvents cannot ask at all.
    const mute = makeChild(m, { privileges: 0n });
    expect(mute.vp.ctx.hypercalls.getSignalCell(1)).toBe(HvStatus.ACCESS_DENIED);
  });

  it('a partition crash revokes the cells of its connections', () => {
    const { m, root, child, port } = wired();
    expect(root.ctx.hypercalls.enableDirectEvents(true)).toBe(HvStatus.SUCCESS);
    expect(child.vp.ctx.hypercalls.signalEvent(CHILD_CONNECTION, 2)).toBe(HvStatus.SUCCESS);
    expect(port()!.directCell).toBeDefined();
    m.core.crash(child.partition, { reason: 1, vpIndex: 0, exitCode: 1, message: 'test' });
    expect(port()!.directCell).toBeUndefined();
    expect(rootFlags(root)).toEqual([7]);
  });
});
