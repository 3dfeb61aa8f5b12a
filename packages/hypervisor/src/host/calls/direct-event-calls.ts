/**
 * The direct event calls (Viridian extensions, abi/direct-events.ts): ViridianEnableDirectEvents
 * (a VP opts in or out), ViridianGetSignalCell (a signaller asks for the cell of one of its own
 * event connections) and ViridianGetDirectEventCells (a VP asks for the cells that target it).
 *
 * A cell goes only to the partition the port names as its connection partition, through a
 * connection the caller owns (the same checks SignalEvent makes), and to the port's target VP.
 * Buffers are mailed to the calling VP's worker alone.
 */
import { DIRECT_EVENT_CELLS_MAIL, SIGNAL_CELL_MAIL, type DirectEventCellsMail, type SignalCellMail } from '../../abi/direct-events.ts';
import { EnableDirectEventsInput, GetSignalCellInput } from '../../abi/inputs.ts';
import { HvStatus } from '../../abi/status.ts';
import type { CallContext, CallOutcome } from '../call-context.ts';
import { cellOf, cellsTargeting, disableDirectEvents, enableDirectEvents } from '../direct-events.ts';

export function enableDirectEventsCall(ctx: CallContext): CallOutcome {
  const enable = ctx.input.u32(EnableDirectEventsInput.ENABLE);
  if (enable > 1 || ctx.input.u32(EnableDirectEventsInput.RESERVED) !== 0) return HvStatus.INVALID_PARAMETER;
  if (ctx.caller.state.kind !== 'active') return HvStatus.INVALID_PARTITION_STATE;
  if (enable === 1) enableDirectEvents(ctx.core, ctx.vp);
  else disableDirectEvents(ctx.core, ctx.vp);
  return HvStatus.SUCCESS;
}

export function getSignalCell(ctx: CallContext): CallOutcome {
  const { input, caller } = ctx;
  if (input.u32(GetSignalCellInput.RESERVED) !== 0) return HvStatus.INVALID_PARAMETER;
  const connectionId = input.u32(GetSignalCellInput.CONNECTION_ID);
  const connection = caller.connections.get(connectionId);
  if (!connection) return HvStatus.INVALID_CONNECTION_ID;
  const port = connection.port;
  if (port.deleted || port.info.kind !== 'event' || port.owner.state.kind !== 'active') return HvStatus.INVALID_PORT_ID;
  const cell = cellOf(ctx.core, port);
  if (typeof cell === 'number') return cell;
  const mail: SignalCellMail = { kind: SIGNAL_CELL_MAIL, connectionId, flagCount: port.info.flagCount, cell: cell.buffer };
  return ctx.vp.mail(mail) ? HvStatus.SUCCESS : HvStatus.INVALID_VP_STATE;
}

export function getDirectEventCells(ctx: CallContext): CallOutcome {
  if (!ctx.vp.directEvents) return HvStatus.FEATURE_UNAVAILABLE;
  const mail: DirectEventCellsMail = { kind: DIRECT_EVENT_CELLS_MAIL, cells: cellsTargeting(ctx.vp) };
  return ctx.vp.mail(mail) ? HvStatus.SUCCESS : HvStatus.INVALID_VP_STATE;
}
