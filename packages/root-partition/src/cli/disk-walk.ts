/**
 * Walking a virtual disk front to back in chunks, shared by `disk check` and `disk convert`.
 *
 * The `VirtualDisk` interface has no allocation map, so a walk reads the whole virtual size;
 * unallocated blocks of dynamic formats come back as zeros without touching the file, so only
 * allocated data costs I/O. Chunks follow the disk's block size (capped) so each chunk stays inside
 * one block and a corrupt block is reported at its own offset.
 */
import type { VirtualDisk } from '../storage/virtual-disk.ts';

/** Chunk for formats without blocks (raw, fixed). */
const FLAT_CHUNK_BYTES = 4 * 1024 * 1024;
/** Largest chunk read at once (VHDX blocks go up to 256 MiB). */
const MAX_CHUNK_BYTES = 8 * 1024 * 1024;

/** A chunk of the disk: where it starts and its bytes (valid only during the callback). */
export interface DiskChunk {
  readonly offset: number;
  readonly data: Buffer;
}

/** The chunk size used to walk `disk`: its block size capped to `MAX_CHUNK_BYTES`. */
export function walkChunkBytes(disk: VirtualDisk, blockSize: number | null = disk.info().blockSize): number {
  if (blockSize === null) return FLAT_CHUNK_BYTES;
  // Block sizes are powers of two and multiples of the sector size, so this stays aligned.
  return Math.min(blockSize, MAX_CHUNK_BYTES);
}

/**
 * Reads `disk` chunk by chunk and calls `visit` with each, in order. The chunk's buffer is reused:
 * `visit` must finish with it before resolving. When the read of a chunk throws, `onReadError`
 * decides: return to skip the chunk, throw to stop.
 */
export async function walkDisk(
  disk: VirtualDisk,
  chunkBytes: number,
  visit: (chunk: DiskChunk) => Promise<void> | void,
  onReadError: (error: unknown, offset: number, length: number) => void = (error) => {
    throw error;
  },
): Promise<void> {
  const buffer = Buffer.alloc(Math.min(chunkBytes, disk.virtualSize));
  for (let offset = 0; offset < disk.virtualSize; offset += chunkBytes) {
    const length = Math.min(chunkBytes, disk.virtualSize - offset);
    const data = buffer.subarray(0, length);
    try {
      await disk.readInto(offset, data);
    } catch (error) {
      onReadError(error, offset, length);
      continue;
    }
    await visit({ offset, data });
  }
}
