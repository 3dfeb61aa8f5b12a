/**
 * `npm run demo`: two worker threads exchange packets over a VMBus ring pair in shared memory.
 * The guest party sends in-band packets of mixed sizes with a checksum in each; the host party
 * verifies every one and echoes it back as a completion; the guest verifies the echoes. A live
 * counter shows both sides; the summary gives throughput and interrupts (signals) per packet.
 *
 * Options: --packets N (default 1,000,000), --ring-kib K (default 256), --max-size B (default 2048).
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { startRingTrafficPair } from '@viridian/vmbus/testing';

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '1000000' },
    'ring-kib': { type: 'string', default: '256' },
    'max-size': { type: 'string', default: '2048' },
  },
});
const packets = Number(values.packets);
const ringKib = Number(values['ring-kib']);
const maxSize = Number(values['max-size']);
if (!Number.isSafeInteger(packets) || packets <= 0 || !Number.isSafeInteger(ringKib) || ringKib < 4 || !Number.isSafeInteger(maxSize) || maxSize < 0) {
  console.error('usage: npm run demo -- [--packets N] [--ring-kib K (>= 4)] [--max-size BYTES]');
  process.exit(2);
}

console.log(`Viridian ring demo: ${packets.toLocaleString()} packets of 0-${maxSize} bytes, guest -> host and echoed back, over ${ringKib} KiB rings`);
const pair = startRingTrafficPair({
  packets,
  sizes: { min: 0, max: maxSize, seed: Date.now() & 0xffff },
  ringSize: ringKib * 1024 + 4096,
  guestRole: 'send-and-verify-echo',
  hostRole: 'echo',
});

const interactive = process.stdout.isTTY === true;
const bars = new cliProgress.MultiBar(
  { format: ' {name} |{bar}| {value}/{total} packets  {rate} k/s', hideCursor: true, noTTYOutput: !interactive, notTTYSchedule: 1000 },
  cliProgress.Presets.shades_classic,
);
const sent = bars.create(packets, 0, { name: 'guest sent  ', rate: '0' });
const echoed = bars.create(packets, 0, { name: 'host echoed ', rate: '0' });
const started = performance.now();
const ticker = setInterval(() => {
  const { guest, host } = pair.progress();
  const seconds = (performance.now() - started) / 1000;
  sent.update(guest, { rate: (guest / seconds / 1000).toFixed(0) });
  echoed.update(host, { rate: (host / seconds / 1000).toFixed(0) });
}, 100);

try {
  const { guest, host } = await pair.results;
  clearInterval(ticker);
  sent.update(packets);
  echoed.update(packets);
  bars.stop();
  const errors = [...guest.errors, ...host.errors];
  const seconds = guest.elapsedMs / 1000;
  const signals = guest.signalsSent + host.signalsSent;
  console.log(`\n${(2 * packets).toLocaleString()} packets (${((guest.payloadBytes) / 1e6).toFixed(1)} MB) in ${seconds.toFixed(2)} s: ` +
    `${((2 * packets) / seconds / 1e6).toFixed(2)} M packets/s, ${(signals / (2 * packets)).toFixed(4)} signals per packet, ` +
    `${guest.sleeps + host.sleeps} sleeps`);
  if (errors.length > 0) {
    console.error(`verification FAILED:\n  ${errors.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.log('every packet verified in both directions: none lost, duplicated, reordered or corrupted');
  }
} catch (error) {
  clearInterval(ticker);
  bars.stop();
  console.error(`demo failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
