/**
 * The VP worker's entry: builds the VpContext from the boot data, keeps the worker alive for good
 * (a VP never "returns": only the hypervisor stops it, so any exit of the worker is a crash), then
 * imports the VP's entry module and calls its default export with the context and its arguments
 * (the parsed EntryArguments register for a child, the host data for the root).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseBootData } from './boot-data.ts';
import { VpContext, type VpEntry } from './vp-context.ts';

const boot = parseBootData(workerData);
parentPort?.on('message', () => {}); // the ref'd handle that keeps the VP alive
const vp = new VpContext(boot);
const module = (await import(boot.entry)) as { default?: VpEntry };
if (typeof module.default !== 'function') throw new TypeError(`VP entry ${boot.entry} has no default export function`);
await module.default(vp, boot.hostData !== undefined ? boot.hostData : JSON.parse(boot.args));
