/**
 * Worker entry: runs one party of ring traffic (`workerData` is a RingTrafficConfig) and posts
 * its RingTrafficResult back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runRingTraffic, type RingTrafficConfig } from './ring-traffic.ts';

parentPort?.postMessage(await runRingTraffic(workerData as RingTrafficConfig));
