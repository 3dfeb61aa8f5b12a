/**
 * The VP worker's entry. It loads the guest library (which VP entries import: a pre-started worker
 * has it ready before it knows its VP), says it is ready, and waits for its one boot message
 * (boot-data.ts). Then it builds the VpContext, keeps the worker alive for good (a VP never
 * "returns": only the hypervisor stops it, so any exit of the worker is a crash), imports the VP's
 * entry module and calls its default export with the context and its arguments (the parsed
 * EntryArguments register for a child, the host data for the root).
 */
import { parentPort } from 'node:worker_threads';
import { parseBootData, VP_READY_MESSAGE } from './boot-data.ts';
import { VpContext, type VpEntry } from './vp-context.ts';
import './index.ts';

const port = parentPort!;
const message = new Promise<unknown>((resolve) => port.once('message', resolve));
port.postMessage(VP_READY_MESSAGE);
const boot = parseBootData(await message);
port.on('message', () => {}); // the ref'd handle that keeps the VP alive
const vp = new VpContext(boot);
const module = (await import(boot.entry)) as { default?: VpEntry };
if (typeof module.default !== 'function') throw new TypeError(`VP entry ${boot.entry} has no default export function`);
await module.default(vp, boot.hostData !== undefined ? boot.hostData : JSON.parse(boot.args));
