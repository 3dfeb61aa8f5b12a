/**
 * Test helper: creates an in-process child through the root's hypercalls (as a real parent would),
 * with memory mapped, one VP, and that VP driven from the test thread.
 */
import { HvPartitionProperty, HvPrivilege } from '../abi/partition.ts';
import { HvStatus } from '../abi/status.ts';
import type { Partition } from '../host/partition.ts';
import type { DrivenVp, TestMachine } from './in-process.ts';

/** A child made for a test. */
export interface TestChild {
  readonly partition: Partition;
  readonly vp: DrivenVp;
}

/** Creates, initializes, maps `pages` and makes VP 0 of a child granted `privileges`. */
export function makeChild(m: TestMachine, options: { pages?: number; privileges?: bigint; extraPages?: number } = {}): TestChild {
  const hc = m.rootVp.ctx.hypercalls;
  const pages = options.pages ?? 16;
  const created = hc.createPartition();
  expectOk(created.status, 'CreatePartition');
  const id = created.value;
  expectOk(hc.setPartitionProperty(id, HvPartitionProperty.PrivilegeFlags, 0xffff_ffffn | (options.privileges ?? HvPrivilege.PostMessages | HvPrivilege.SignalEvents)), 'SetPartitionProperty');
  expectOk(hc.depositMemory(id, pages + 8 + (options.extraPages ?? 0)).status, 'DepositMemory');
  expectOk(hc.initializePartition(id), 'InitializePartition');
  expectOk(hc.mapGpaPages(id, 0, pages, 7).status, 'MapGpaPages');
  expectOk(hc.createVp(id, 0), 'CreateVp');
  const partition = m.core.partitions.get(id as Partition['id'])!;
  return { partition, vp: m.drive(partition, 0) };
}

/** Enables a driven VP's SynIC with SIMP at page 1 and SIEFP at page 2, all SINTs unmasked. */
export function enableSynic(vp: DrivenVp): void {
  expectOk(vp.ctx.synic.enable({ simpGpfn: 1, siefpGpfn: 2 }), 'enable SynIC');
  for (let sint = 0; sint < 16; sint++) expectOk(vp.ctx.synic.configureSint(sint), `SINT${sint}`);
}

function expectOk(status: number, what: string): void {
  if (status !== HvStatus.SUCCESS) throw new Error(`${what} failed with 0x${status.toString(16)}`);
}
