import { afterEach, expect, it } from 'vitest';
import { vmbusTestbed, type VmbusTestbed } from '@viridian/root-partition/testing';

// A user's device pair: the VSP (default export (options) => VmbusDevice), the VSC (default
// export a VscDriver), and a guest program that uses it through guest.device('kv').
const kv = (file: string) => new URL(`./fixtures/kv/${file}`, import.meta.url);

let bed: VmbusTestbed | undefined;
afterEach(() => bed?.close());

it('a dropped request never reaches the VSP and never completes; the next one does', async () => {
  bed = await vmbusTestbed({
    device: { url: kv('device.ts'), options: { initial: { greeting: 'hello' } } },
    driver: kv('driver.ts'),
    program: kv('guest.ts'),
    args: { scenario: 'drop' },
  });
  const packets = bed.record(); // every packet on the channel, both ways
  await bed.injectFault({ kind: 'drop' }); // the next guest packet
  await bed.start();

  expect(await bed.result).toEqual({ counter: 1, stillWaiting: 1 });
  const [dropped, request, reply, ...rest] = packets;
  expect(dropped).toMatchObject({ direction: 'guest-to-host', kind: 'inband', fault: 'dropped' });
  expect(request).toMatchObject({ direction: 'guest-to-host', kind: 'inband', transactionId: dropped!.transactionId + 1n });
  expect(reply).toMatchObject({ direction: 'host-to-guest', kind: 'completion', transactionId: request!.transactionId });
  expect(rest).toEqual([]);
});
