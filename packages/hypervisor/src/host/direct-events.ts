/**
 * The hypervisor's side of direct event cells (abi/direct-events.ts): which VPs opted in, the one
 * cell of each event port that targets such a VP, and revocation.
 *
 * Invariants: a port has a cell only while its target VP has opted in, the port is alive and no
 * connection to it was disconnected since the cell was made; every change to a cell bumps
 * DIRECT_EVENTS_GENERATION on every VP of the port's connection partition (signallers drop their
 * cached cells) and on the target VP (whose doorbell is rung so it refetches). A revoked cell's
 * waiting flags are moved into the target's SIEF page here, so a signal racing the revocation is
 * delivered as if the signaller had made the hypercall.
 */
import { ANY_VP } from '../abi/ids.ts';
import { directEventCellBytes, takeCellFlags, type DirectEventCellInfo } from '../abi/direct-events.ts';
import { HvStatus } from '../abi/status.ts';
import { VpPageLayout } from '../abi/vp-page.ts';
import type { HypervisorCore } from './core.ts';
import type { Port } from './ports.ts';
import type { Vp } from './vp.ts';

/** One port's cell. */
export class DirectEventCell {
  readonly buffer: SharedArrayBuffer;
  readonly words: Int32Array;

  constructor(
    readonly port: Port & { readonly info: { readonly kind: 'event' } },
    readonly target: Vp,
  ) {
    this.buffer = new SharedArrayBuffer(directEventCellBytes(port.info.flagCount));
    this.words = new Int32Array(this.buffer);
  }

  /** What the target VP is mailed about this cell. */
  info(): DirectEventCellInfo {
    const { id, info } = this.port;
    return { portId: id, sint: info.sint, baseFlag: info.baseFlag, flagCount: info.flagCount, cell: this.buffer };
  }

  /** Takes the flags still waiting in the cell (only bits below the port's flag count). */
  takeFlags(visit: (flag: number) => void): void {
    takeCellFlags(this.words, this.port.info.flagCount, (firstFlag, bits) => {
      for (; bits !== 0; bits &= bits - 1) visit(firstFlag + 31 - Math.clz32(bits & -bits));
    });
  }
}

/** Bumps DIRECT_EVENTS_GENERATION on every VP of `partition` (its signal cells changed). */
function bumpSignallers(core: HypervisorCore, port: Port): void {
  const partition = core.partitions.get(port.connectionPartition);
  if (!partition) return;
  for (const vp of partition.vps.values()) Atomics.add(vp.words, VpPageLayout.DIRECT_EVENTS_GENERATION >> 2, 1);
}

/** Bumps the target VP's generation and rings its doorbell, so it refetches its cells. */
function bumpTarget(vp: Vp): void {
  Atomics.add(vp.words, VpPageLayout.DIRECT_EVENTS_GENERATION >> 2, 1);
  vp.synic.ring();
}

/** The event ports of `vp`'s partition that target exactly `vp`. */
function portsTargeting(vp: Vp): Port[] {
  return [...vp.partition.ports.values()].filter((port) => port.info.kind === 'event' && port.info.vp === vp.index);
}

/** The VP opts in: signallers of its ports may now fetch cells. */
export function enableDirectEvents(core: HypervisorCore, vp: Vp): void {
  if (vp.directEvents) return;
  vp.directEvents = true;
  for (const port of portsTargeting(vp)) bumpSignallers(core, port);
  bumpTarget(vp);
}

/** The VP opts out (or goes away): every cell targeting it is revoked. */
export function disableDirectEvents(core: HypervisorCore, vp: Vp): void {
  if (!vp.directEvents) return;
  vp.directEvents = false;
  for (const port of portsTargeting(vp)) {
    if (port.directCell) revokeCell(core, port);
    else bumpSignallers(core, port);
  }
}

/**
 * The cell of `port` (made on first use), or the status to fail with: FEATURE_UNAVAILABLE when the
 * port targets any VP or a VP that has not opted in, INVALID_VP_INDEX for a missing VP.
 */
export function cellOf(core: HypervisorCore, port: Port): DirectEventCell | number {
  if (port.directCell) return port.directCell;
  const info = port.info;
  if (info.kind !== 'event' || info.vp === ANY_VP) return HvStatus.FEATURE_UNAVAILABLE;
  const target = port.owner.vps.get(info.vp);
  if (!target) return HvStatus.INVALID_VP_INDEX;
  if (!target.directEvents) return HvStatus.FEATURE_UNAVAILABLE;
  const cell = new DirectEventCell(port as DirectEventCell['port'], target);
  port.directCell = cell;
  bumpTarget(target);
  return cell;
}

/** Revokes `port`'s cell (see the module comment); a no-op without one. */
export function revokeCell(core: HypervisorCore, port: Port): void {
  const cell = port.directCell;
  if (!cell) return;
  port.directCell = undefined;
  bumpSignallers(core, port);
  const target = cell.target;
  const memory = port.owner.memory;
  const { sint, baseFlag } = cell.port.info;
  const deliverable = memory !== undefined && target.run.kind !== 'stopped' && target.synic.eventsEnabled && !target.synic.masked(sint);
  cell.takeFlags((flag) => {
    if (deliverable) target.synic.signalUnchecked(sint, baseFlag + flag, memory);
  });
  if (target.run.kind !== 'stopped') bumpTarget(target);
}

/** The cells targeting `vp`, as mailed to it. */
export function cellsTargeting(vp: Vp): DirectEventCellInfo[] {
  const cells: DirectEventCellInfo[] = [];
  for (const port of portsTargeting(vp)) if (port.directCell) cells.push(port.directCell.info());
  return cells;
}
