/**
 * The guest kernel: the entry module of a child partition's VP 0. It places its SynIC pages,
 * connects VMBus, opens a channel for every offer a driver claims, runs the guest program with the
 * devices it found, and reports the program's outcome to the root through the report device.
 * Hot-added offers are probed while the program runs; rescinded ones are closed and released.
 *
 * Drivers: echo, report and storvsc (synthetic SCSI: its LUNs become `guest.disks`, with data
 * buffers from the kernel's page allocator) are the kernel's own; the VM spec may name more (users' VSCs, loaded
 * from modules by `loadDriverModules`), each claiming offers by device class. A driver that fails
 * to load or to attach at boot fails the program (reported to the root like a program error).
 *
 * Guest memory layout: page 0 is left alone, page 1 is the SIMP, page 2 the SIEFP; pages from
 * {@link FIRST_ALLOCATABLE_PAGE} on are for rings and buffers.
 */
import type { VpContext } from '@viridian/hypervisor';
import { GuestPageAllocator, VMBUS_MESSAGE_SINT, type ChannelId, type OfferChannelMessage } from '@viridian/vmbus';
import type { EchoClient } from '../drivers/echo/driver.ts';
import { echoDriver } from '../drivers/echo/driver.ts';
import type { ReportClient } from '../drivers/report/driver.ts';
import { reportDriver } from '../drivers/report/driver.ts';
import type { GuestDisk, StorvscController } from '../drivers/storvsc/index.ts';
import { storvscDriver } from '../drivers/storvsc/index.ts';
import type { VscDriver } from '../drivers/vsc-driver.ts';
import { GuestKernelError } from '../errors.ts';
import type { GuestChannel } from '../vmbus/guest-channel.ts';
import { VmbusGuest } from '../vmbus/vmbus-guest.ts';
import { loadDriverModules } from './driver-modules.ts';
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
  /** Extra VSC driver modules (file URLs), default export a `VscDriver`. */
  readonly drivers?: readonly string[];
}

/** An open device of a driver other than report, for closing it on rescind. */
interface Attached {
  readonly channel: GuestChannel;
  readonly driver: VscDriver;
  readonly device: unknown;
  /** The list the program sees it in. */
  readonly list: unknown[];
}

export default async function guestKernel(vp: VpContext, kernelArgs: GuestKernelArgs): Promise<void> {
  const hc = vp.hypercalls;
  vp.synic.enable({ simpGpfn: SIMP_PAGE, siefpGpfn: SIEFP_PAGE });
  vp.synic.configureSint(VMBUS_MESSAGE_SINT);
  // One allocator for ring pages and driver buffers (storvsc's SRB data pages).
  const pages = new GuestPageAllocator(Math.floor(vp.memory.byteLength / 4096), FIRST_ALLOCATABLE_PAGE);
  const vmbus = new VmbusGuest({ transport: synicGuestTransport(hc), memory: vp.memory, pages });
  const scsiDriver = storvscDriver({ memory: vp.memory, pages });
  vp.onInterrupt((sints) => {
    if ((sints & (1 << VMBUS_MESSAGE_SINT)) === 0) return;
    for (let message = vp.synic.takeMessage(VMBUS_MESSAGE_SINT); message; message = vp.synic.takeMessage(VMBUS_MESSAGE_SINT)) {
      vmbus.handleMessage(message.payload);
    }
    vp.synic.takeEventFlags(VMBUS_MESSAGE_SINT, (flag) => vmbus.handleSignal(flag as ChannelId));
  });

  const { version, offers } = await vmbus.connect();
  let failure: unknown;
  let extra: VscDriver[] = [];
  try {
    extra = await loadDriverModules(kernelArgs.drivers ?? []);
  } catch (error) {
    failure = error;
  }
  const echo: EchoClient[] = [];
  const scsi: StorvscController[] = [];
  const byDriver: Record<string, unknown[]> = Object.fromEntries(extra.map((driver) => [driver.name, []]));
  const attached: Attached[] = [];
  let report: ReportClient | undefined;
  const probe = async (offer: OfferChannelMessage): Promise<void> => {
    if (offer.interfaceType === reportDriver.classId) {
      if (report === undefined) report = (await reportDriver.attach(await vmbus.openChannel(offer.childRelid, reportDriver.rings))) as ReportClient;
      return;
    }
    const driver: VscDriver | undefined =
      offer.interfaceType === echoDriver.classId
        ? echoDriver
        : offer.interfaceType === scsiDriver.classId
          ? scsiDriver
          : extra.find((candidate) => candidate.classId === offer.interfaceType);
    if (driver === undefined) return;
    const channel = await vmbus.openChannel(offer.childRelid, driver.rings);
    const device = await driver.attach(channel);
    const list: unknown[] = driver === echoDriver ? echo : driver === scsiDriver ? scsi : byDriver[driver.name]!;
    list.push(device);
    attached.push({ channel, driver, device, list });
  };
  for (const offer of offers) {
    try {
      await probe(offer);
    } catch (error) {
      failure ??= error;
    }
  }
  vmbus.offerChanges$.subscribe((change) => {
    if (change.kind === 'added') {
      probe(change.offer).catch(() => {}); // a hot-added device that fails to open is not there
      return;
    }
    const index = attached.findIndex((entry) => entry.channel.id === change.channel);
    const closing = index >= 0 ? attached.splice(index, 1)[0]! : undefined;
    if (closing) closing.list.splice(closing.list.indexOf(closing.device), 1);
    const detached = closing ? Promise.resolve(closing.driver.detach?.(closing.device)).catch(() => {}) : Promise.resolve();
    void detached
      .then(() => (closing ? vmbus.closeChannel(closing.channel) : undefined))
      .then(() => vmbus.release(change.channel))
      .catch(() => {});
  });

  const guest: GuestApi = {
    partitionId: vp.partitionId,
    devices: { echo, scsi, byDriver },
    get disks(): readonly GuestDisk[] {
      return scsi.flatMap((controller) => controller.disks);
    },
    device<Device>(name: string, index = 0): Device {
      const list = name === 'echo' ? echo : name === 'scsi' ? scsi : Object.hasOwn(byDriver, name) ? byDriver[name] : undefined;
      if (list === undefined || index >= list.length) throw new GuestKernelError('VIRIDIAN_GUEST_NO_DEVICE', `no ${name} device ${index}`);
      return list[index] as Device;
    },
    vmbusVersion: version,
  };
  try {
    if (failure !== undefined) throw failure;
    const program = (await import(kernelArgs.program)) as { default?: GuestProgram };
    if (typeof program.default !== 'function') throw new TypeError(`guest program ${kernelArgs.program} has no default export function`);
    const result = await program.default(guest, kernelArgs.args);
    await report?.completed(result);
  } catch (error) {
    await report?.failed(error);
  }
}
