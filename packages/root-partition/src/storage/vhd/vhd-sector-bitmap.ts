/**
 * The sector bitmap in front of each VHD block: one bit per 512-byte sector, most significant
 * bit first (bit 7 of byte 0 is sector 0, as qemu and the specification have it). A set bit means
 * this file holds the sector; a clear one means zeros (dynamic) or the parent's data (differencing).
 */

/** True if sector `sector` of the block is present in the file. */
export function bitmapTest(bitmap: Uint8Array, sector: number): boolean {
  return ((bitmap[sector >> 3] ?? 0) & (0x80 >> (sector & 7))) !== 0;
}

/** Sets (or clears) sectors `[first, first + count)`. */
export function bitmapSetRange(bitmap: Uint8Array, first: number, count: number, value: boolean): void {
  for (let s = first; s < first + count; s++) {
    const index = s >> 3;
    const mask = 0x80 >> (s & 7);
    const byte = bitmap[index] ?? 0;
    bitmap[index] = value ? byte | mask : byte & ~mask;
  }
}

/** True if all of the first `sectors` bits are set. */
export function bitmapAllSet(bitmap: Uint8Array, sectors: number): boolean {
  const whole = sectors >> 3;
  for (let i = 0; i < whole; i++) if (bitmap[i] !== 0xff) return false;
  for (let s = whole * 8; s < sectors; s++) if (!bitmapTest(bitmap, s)) return false;
  return true;
}

/** Splits sectors `[first, first + count)` into maximal runs of equal presence. */
export function bitmapRuns(bitmap: Uint8Array, first: number, count: number): { first: number; count: number; present: boolean }[] {
  const runs: { first: number; count: number; present: boolean }[] = [];
  let start = first;
  let present = bitmapTest(bitmap, first);
  for (let s = first + 1; s <= first + count; s++) {
    const here = s < first + count ? bitmapTest(bitmap, s) : !present;
    if (here !== present) {
      runs.push({ first: start, count: s - start, present });
      start = s;
      present = here;
    }
  }
  return runs;
}
