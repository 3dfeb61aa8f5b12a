/** GPADL page-list splitting and reassembly (vmbus-wire.md §4.5). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChannelMessage, encodeChannelMessage } from './channel-message-codec.ts';
import { ChannelMessageType as T } from './channel-message-layout.ts';
import { channelId, gpadlId, type GpadlBodyMessage, type GpadlHeaderMessage } from './channel-messages.ts';
import { GpadlAssembler, MAX_GPADL_PFNS, gpadlPageCount, splitGpadl, type GpadlAssemblyErrorReason, type GpadlAssemblyStep } from './gpadl.ts';
import { InvalidArgumentError } from '../errors.ts';

const relid = channelId(4);
const id = gpadlId(0xe1e10);
const pages = (n: number, base = 0x100): number[] => Array.from({ length: n }, (_, i) => base + i);

function assemble(messages: (GpadlHeaderMessage | GpadlBodyMessage)[], guestMemoryPages = 1 << 20): GpadlAssemblyStep {
  const assembler = new GpadlAssembler({ guestMemoryPages });
  let step: GpadlAssemblyStep = { status: 'incomplete', received: 0, expected: 0 };
  for (const message of messages) {
    step = message.type === T.gpadlHeader ? assembler.header(message) : assembler.body(message);
    if (step.status === 'error') return step;
  }
  return step;
}

describe('splitGpadl', () => {
  it('puts 26 PFNs in the header and 28 in each body', () => {
    const [header, ...bodies] = splitGpadl(relid, id, { byteCount: 100 * 4096, byteOffset: 0, pfns: pages(100) });
    expect(header.pfns).toHaveLength(26);
    expect(header.rangeBufferLength).toBe(8 + 8 * 100);
    expect(header.rangeCount).toBe(1);
    expect(bodies.map((b) => b.pfns.length)).toEqual([28, 28, 18]);
    expect(encodeChannelMessage(header).byteLength).toBe(236);
    expect(bodies.map((b) => encodeChannelMessage(b).byteLength)).toEqual([240, 240, 16 + 18 * 8]);
  });

  it('sends a header alone for up to 26 PFNs', () => {
    expect(splitGpadl(relid, id, { byteCount: 26 * 4096, byteOffset: 0, pfns: pages(26) })).toHaveLength(1);
    expect(splitGpadl(relid, id, { byteCount: 27 * 4096, byteOffset: 0, pfns: pages(27) })).toHaveLength(2);
  });

  it('refuses ranges it cannot express', () => {
    expect(() => splitGpadl(relid, id, { byteCount: 0, byteOffset: 0, pfns: [] })).toThrow(InvalidArgumentError);
    expect(() => splitGpadl(relid, id, { byteCount: 1, byteOffset: 4096, pfns: [1] })).toThrow(InvalidArgumentError);
    expect(() => splitGpadl(relid, id, { byteCount: 4097, byteOffset: 0, pfns: [1] })).toThrow(InvalidArgumentError);
    expect(() => splitGpadl(relid, id, { byteCount: 4096 * 8191, byteOffset: 0, pfns: pages(8191) })).toThrow(InvalidArgumentError);
    expect(() => splitGpadl(relid, id, { byteCount: 4096, byteOffset: 0, pfns: [-1] })).toThrow(InvalidArgumentError);
  });

  it('reassembles what it splits, through the wire (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 * 4096 }), fc.integer({ min: 0, max: 4095 }), fc.nat(), (byteCount, byteOffset, base) => {
        const n = gpadlPageCount(byteOffset, byteCount);
        const pfns = pages(n, base % 1_000_000);
        const messages = splitGpadl(relid, id, { byteCount, byteOffset, pfns }).map((m) => {
          const decoded = decodeChannelMessage(encodeChannelMessage(m));
          if (!decoded.ok) throw new Error(decoded.reason);
          return decoded.message as GpadlHeaderMessage | GpadlBodyMessage;
        });
        expect(assemble(messages)).toEqual({ status: 'complete', range: { byteCount, byteOffset, pfns } });
      }),
      { numRuns: 200 },
    );
  });
});

describe('GpadlAssembler', () => {
  const header = (over: Partial<GpadlHeaderMessage> = {}, n = 60): GpadlHeaderMessage => ({
    type: T.gpadlHeader,
    childRelid: relid,
    gpadlId: id,
    rangeBufferLength: 8 + 8 * n,
    rangeCount: 1,
    byteCount: n * 4096,
    byteOffset: 0,
    pfns: pages(Math.min(26, n)),
    ...over,
  });
  const body = (pfns: number[], gpadl = id): GpadlBodyMessage => ({ type: T.gpadlBody, messageNumber: 0, gpadlId: gpadl, pfns });

  it('reports progress, then the range', () => {
    const assembler = new GpadlAssembler({ guestMemoryPages: 1000 });
    expect(assembler.header(header())).toEqual({ status: 'incomplete', received: 26, expected: 60 });
    expect(assembler.gpadlId).toBe(id);
    expect(assembler.body(body(pages(28, 126)))).toEqual({ status: 'incomplete', received: 54, expected: 60 });
    const done = assembler.body(body(pages(6, 154)));
    expect(done.status).toBe('complete');
    expect(assembler.range?.pfns).toEqual([...pages(26), ...pages(28, 126), ...pages(6, 154)]);
    expect(assembler.finish().status).toBe('complete');
  });

  const cases: [GpadlAssemblyErrorReason, (GpadlHeaderMessage | GpadlBodyMessage)[], number?][] = [
    ['range-count-unsupported', [header({ rangeCount: 2 })]],
    ['range-count-unsupported', [header({ rangeCount: 0 })]],
    ['range-empty', [header({ byteCount: 0 })]],
    ['range-offset-beyond-page', [header({ byteOffset: 4096 })]],
    ['range-length-mismatch', [header({ rangeBufferLength: 8 + 8 * 59 })]],
    ['too-many-pfns', [header({ byteCount: (MAX_GPADL_PFNS + 1) * 4096, rangeBufferLength: 0xffff })]],
    ['pfn-overflow', [header({}, 27), body(pages(2, 500))]],
    ['pfn-overflow', [header({ pfns: pages(3) }, 2)]],
    ['pfn-beyond-memory', [header({ pfns: [1, 2, 5000] })], 5000],
    ['pfn-beyond-memory', [header(), body([1, 99_999])], 5000],
    ['gpadl-mismatch', [header(), body([1], gpadlId(7))]],
    ['unexpected-message', [body([1])]],
    ['unexpected-message', [header(), header()]],
  ];
  for (const [reason, messages, memory] of cases) {
    it(`refuses ${reason}`, () => {
      const step = assemble(messages, memory);
      expect(step.status).toBe('error');
      if (step.status === 'error') expect(step.reason).toBe(reason);
    });
  }

  it('reports underflow when finished early, and stays dead after an error', () => {
    const assembler = new GpadlAssembler({ guestMemoryPages: 1000 });
    assembler.header(header());
    const early = assembler.finish();
    expect(early.status === 'error' && early.reason).toBe('incomplete');
    expect(assembler.body(body([1])).status).toBe('error');
  });

  it('refuses a PFN in a hole of the guest memory map, in the header or a body', () => {
    // Pages 40..49 are a hole (unmapped) below the end of a 1000-page memory.
    const isPageMapped = (pfn: number) => pfn < 40 || pfn >= 50;
    const inHeader = new GpadlAssembler({ guestMemoryPages: 1000, isPageMapped }).header(header({ pfns: [1, 2, 45] }));
    expect(inHeader.status === 'error' && inHeader.reason).toBe('pfn-not-mapped');
    const assembler = new GpadlAssembler({ guestMemoryPages: 1000, isPageMapped });
    expect(assembler.header(header()).status).toBe('incomplete');
    const inBody = assembler.body(body([100, 49]));
    expect(inBody.status === 'error' && inBody.reason).toBe('pfn-not-mapped');
    const fine = new GpadlAssembler({ guestMemoryPages: 1000, isPageMapped });
    fine.header(header({}, 20));
    expect(fine.range?.pfns).toEqual(pages(20));
  });

  it('honours a lower PFN cap', () => {
    const assembler = new GpadlAssembler({ guestMemoryPages: 1000, maxPfns: 10 });
    const step = assembler.header(header({}, 11));
    expect(step.status === 'error' && step.reason).toBe('too-many-pfns');
    expect(() => new GpadlAssembler({ guestMemoryPages: -1 })).toThrow(InvalidArgumentError);
  });
});
