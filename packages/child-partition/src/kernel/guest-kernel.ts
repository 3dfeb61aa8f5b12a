/**
 * The guest kernel: the entry module of a child partition's VP 0. It places its SynIC pages,
 * connects VMBus, opens a channel for every offer a driver claims, runs the guest program with the
 * devices it found, and reports the program's outcome to the root through the report device.
 * Hot-added offers are probed while the program runs; rescinded ones are closed and released.
 *
 * Guest memory layout: page 0 is left alone, page 1 is the SIMP, page 2 the SIEFP; pages from
 * {@link FIRST_ALLOCATABLE_PAGE} on are for rings and buffers.
 */
import type { VpContext } from '@viridian/hypervisor';
import { GuestPageAllocator, VMBUS_MESSAGE_SINT, type ChannelId, type OfferChannelMessage } from '@viridian/vmbus';
import type { EchoClient} from '../drivers/echo/driver.ts';
import { echoDriver } from '../drivers/echo/driver.ts';
import type { ReportClient} from '../drivers/report/driver.ts';
import { reportDriver } from '../drivers/report/driver.ts';
import { VmbusGuest } from '../vmbus/vmbus-guest.ts';
import type { GuestApi, GuestProgram } from './guest-api.ts';
import { synicGuestTransport } from './synic-guest-transport.ts';

export const SIMP_PAGE = 1;
export const SIEFP_PAGE = 2;
export const FIRST_ALLOCATABLE_PAGE = 16;

/** The kernel's arguments (the VP's EntryArguments register, JSON). */
export interface GuestKernelArgs {
  /** The guest program module (file URL). */
  readonly program: string;
  readonly args?: unknown;
}

export default async function guestKernel(vp: VpContext, kernelArgs: GuestKernelArgs): Promise<void> {
  const hc = vp.hypercalls;
  vp.synic.enable({ simpGpfn: SIMP_PAGE, siefpGpfn: SIEFP_PAGE });
  vp.synic.configureSint(VMBUS_MESSAGE_SINT);
  const vmbus = new VmbusGuest({
    transport: synicGuestTransport(hc),
    memory: vp.memory,
    pages: new GuestPageAllocator(Math.floor(vp.memory.byteLength / 4096), FIRST_ALLOCATABLE_PAGE),
  });
  vp.interrupts.onInterrupt((sints) => {
    if ((sints & (1 << VMBUS_MESSAGE_SINT)) === 0) return;
    for (let message = vp.synic.takeMessage(VMBUS_MESSAGE_SINT); message; message = vp.synic.takeMessage(VMBUS_MESSAGE_SINT)) {
      vmbus.handleMessage(message.payload);
    }
    vp.synic.takeEventFlags(VMBUS_MESSAGE_SINT, (flag) => vmbus.handleSignal(flag as ChannelId));
  });

  const { version, offers } = await vmbus.connect();
  const echo: EchoClient[] = [];
  let report: ReportClient | undefined;
  const probe = async (offer: OfferChannelMessage): Promise<void> => {
    if (offer.interfaceType === echoDriver.classId) {
      echo.push(echoDriver.attach(await vmbus.openChannel(offer.childRelid, echoDriver.rings)) as EchoClient);
    } else if (offer.interfaceType === reportDriver.classId && report === undefined) {
      report = (await reportDriver.attach(await vmbus.openChannel(offer.childRelid, reportDriver.rings))) as ReportClient;
    }
  };
  for (const offer of offers) await probe(offer);
  vmbus.offerChanges$.subscribe((change) => {
    if (change.kind === 'added') void probe(change.offer);
    else {
      const index = echo.findIndex((device) => device.channel.id === change.channel);
      const closing = index >= 0 ? echo.splice(index, 1)[0]!.channel : undefined;
      void (closing ? vmbus.closeChannel(closing) : Promise.resolve()).then(() => vmbus.release(change.channel));
    }
  });

  const guest: GuestApi = { partitionId: vp.partitionId, devices: { echo }, vmbusVersion: version };
  try {
    const program = (await import(kernelArgs.program)) as { default?: GuestProgram };
    if (typeof program.default !== 'function') throw new TypeError(`guest program ${kernelArgs.program} has no default export function`);
    const result = await program.default(guest, kernelArgs.args);
    await report?.completed(result);
  } catch (error) {
    await report?.failed(error);
  }
}
