/**
 * A disk as guest programs see it (`guest.disks`): one LUN of a storvsc controller as a block
 * device with a capacity and a block size. `read`, `write`, `flush` and `trim` become READ (16),
 * WRITE (16), SYNCHRONIZE CACHE (10) and UNMAP; a request larger than the controller's maximum
 * transfer is split, and its pieces run at once. Many requests may be in flight (the controller
 * queues beyond 256). Offsets and lengths are bytes, whole blocks.
 *
 * Zero copy: {@link GuestDisk.allocateBuffer} gives a buffer in guest memory that the host reads
 * into and writes from in place ({@link GuestDisk.readInto}, {@link GuestDisk.write}), like an
 * O_DIRECT buffer; any other array costs one copy through bounce pages.
 */
import { ScsiOp, ServiceAction, VpdPage } from '@viridian/vmbus';
import type { StorvscController } from './controller.ts';
import { DiskRequestError } from './errors.ts';

export class GuestDisk {
  private constructor(
    private readonly controller: StorvscController,
    /** The LUN on the controller. */
    readonly lun: number,
    /** Bytes per logical block. */
    readonly blockSize: number,
    /** Blocks on the disk. */
    readonly blocks: number,
    /** Bytes per physical block (the efficient I/O unit). */
    readonly physicalBlockSize: number,
    readonly readOnly: boolean,
    /** Most blocks one UNMAP descriptor may name, and descriptors per UNMAP. */
    private readonly unmapLimits: { readonly blocks: number; readonly descriptors: number },
  ) {}

  /** Capacity in bytes. */
  get capacity(): number {
    return this.blocks * this.blockSize;
  }

  /**
   * Reads the LUN's geometry (READ CAPACITY (16), MODE SENSE (6), VPD Block Limits).
   * @throws {ScsiCommandError}
   */
  static async probe(controller: StorvscController, lun: number): Promise<GuestDisk> {
    const capacityCdb = new Uint8Array(16);
    capacityCdb[0] = ScsiOp.serviceActionIn16;
    capacityCdb[1] = ServiceAction.readCapacity16;
    capacityCdb[13] = 32;
    const capacity = (await controller.command(lun, capacityCdb, { direction: 'in', length: 32 })).data;
    const cv = new DataView(capacity.buffer, capacity.byteOffset, capacity.length);
    const blocks = Number(cv.getBigUint64(0)) + 1;
    const blockSize = cv.getUint32(8);
    const physicalBlockSize = blockSize << (capacity[13]! & 0x0f);
    const mode = (await controller.command(lun, Uint8Array.of(ScsiOp.modeSense6, 0x08, 0x3f, 0, 255, 0), { direction: 'in', length: 255 })).data;
    const readOnly = (mode[2]! & 0x80) !== 0;
    const limits = (await controller.command(lun, Uint8Array.of(ScsiOp.inquiry, 1, VpdPage.blockLimits, 0, 64, 0), { direction: 'in', length: 64 })).data;
    const lv = new DataView(limits.buffer, limits.byteOffset, limits.length);
    const unmapLimits = limits.length >= 28 ? { blocks: lv.getUint32(20), descriptors: lv.getUint32(24) } : { blocks: 0, descriptors: 0 };
    return new GuestDisk(controller, lun, blockSize, blocks, physicalBlockSize, readOnly, unmapLimits);
  }

  /**
   * A buffer of `bytes` bytes in guest memory (zeroed) that reads land in and writes go from with
   * no copy; give it back with {@link GuestDisk.freeBuffer}. Views inside it work too.
   * @throws {DiskRequestError} when `bytes` is not a positive integer
   * @throws {GuestOutOfMemoryError} when guest memory can never hold it
   */
  allocateBuffer(bytes: number): Promise<Uint8Array> {
    return this.controller.dma.allocate(bytes);
  }

  /**
   * Gives back a buffer from {@link GuestDisk.allocateBuffer} (its pages stay in use until the
   * requests using it complete).
   * @throws {DiskRequestError} when `buffer` is not a live buffer of this controller
   */
  freeBuffer(buffer: Uint8Array): void {
    this.controller.dma.free(buffer);
  }

  /**
   * Reads `length` bytes at `offset`.
   * @throws {DiskRequestError} when the range is not whole blocks
   * @throws {ScsiCommandError} with the target's sense (e.g. LBA OUT OF RANGE, MEDIUM ERROR)
   */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const result = new Uint8Array(length);
    await this.readInto(offset, result);
    return result;
  }

  /**
   * Reads `target.length` bytes at `offset` into `target` (in place when it lies in a buffer from
   * {@link GuestDisk.allocateBuffer}).
   * @throws {DiskRequestError} when the range is not whole blocks
   * @throws {ScsiCommandError} with the target's sense (e.g. LBA OUT OF RANGE, MEDIUM ERROR)
   */
  readInto(offset: number, target: Uint8Array): Promise<void> {
    // Not `async`: one transfer (the common case) is one promise chain; a bad range rejects.
    const length = target.length;
    const bad = this.problem(offset, length);
    if (bad !== undefined) return Promise.reject(bad);
    if (length === 0) return Promise.resolve();
    if (length <= this.maxPiece) return this.readPiece(offset, target);
    return Promise.all(this.pieces(offset, length).map(([at, size]) => this.readPiece(at, target.subarray(at - offset, at - offset + size)))).then(NOTHING);
  }

  /**
   * Writes `data` at `offset` (durable after a later `flush`); in place when `data` lies in a
   * buffer from {@link GuestDisk.allocateBuffer}.
   * @throws {DiskRequestError} when the range is not whole blocks
   * @throws {ScsiCommandError} with the target's sense (e.g. WRITE PROTECTED, SPACE ALLOCATION FAILED)
   */
  write(offset: number, data: Uint8Array): Promise<void> {
    // Not `async`, as `readInto`.
    const length = data.length;
    const bad = this.problem(offset, length);
    if (bad !== undefined) return Promise.reject(bad);
    if (length === 0) return Promise.resolve();
    if (length <= this.maxPiece) return this.controller.command(this.lun, this.rw(ScsiOp.write16, offset, length), { direction: 'out', data }).then(NOTHING);
    return Promise.all(
      this.pieces(offset, length).map(([at, size]) =>
        this.controller.command(this.lun, this.rw(ScsiOp.write16, at, size), { direction: 'out', data: data.subarray(at - offset, at - offset + size) }),
      ),
    ).then(NOTHING);
  }

  /** One READ (16) of `into.length` bytes (at most one transfer) at `offset` into `into`. */
  private readPiece(offset: number, into: Uint8Array): Promise<void> {
    const size = into.length;
    return this.controller.command(this.lun, this.rw(ScsiOp.read16, offset, size), { direction: 'in', length: size, into }).then(({ transferred }) => {
      if (transferred !== size) throw new DiskRequestError(`short read: ${transferred} of ${size} bytes at ${offset}`);
    });
  }

  /**
   * Makes every write completed before the call durable (SYNCHRONIZE CACHE).
   * @throws {ScsiCommandError}
   */
  async flush(): Promise<void> {
    await this.controller.command(this.lun, Uint8Array.of(ScsiOp.synchronizeCache10, 0, 0, 0, 0, 0, 0, 0, 0, 0), { direction: 'none' });
  }

  /**
   * Tells the disk `[offset, offset + length)` is no longer needed (UNMAP).
   * @throws {DiskRequestError} when the range is not whole blocks
   * @throws {ScsiCommandError}
   */
  async trim(offset: number, length: number): Promise<void> {
    this.check(offset, length);
    if (length === 0) return;
    const perDescriptor = Math.max(1, this.unmapLimits.blocks || 0xffff_ffff);
    const perCommand = Math.max(1, Math.min(this.unmapLimits.descriptors || 1, 64));
    const descriptors: [number, number][] = [];
    for (let lba = offset / this.blockSize, left = length / this.blockSize; left > 0; ) {
      const count = Math.min(left, perDescriptor);
      descriptors.push([lba, count]);
      lba += count;
      left -= count;
    }
    const commands: Promise<unknown>[] = [];
    for (let i = 0; i < descriptors.length; i += perCommand) {
      const batch = descriptors.slice(i, i + perCommand);
      const list = new Uint8Array(8 + batch.length * 16);
      const v = new DataView(list.buffer);
      v.setUint16(0, list.length - 2);
      v.setUint16(2, batch.length * 16);
      batch.forEach(([lba, count], j) => {
        v.setBigUint64(8 + j * 16, BigInt(lba));
        v.setUint32(8 + j * 16 + 8, count);
      });
      const cdb = Uint8Array.of(ScsiOp.unmap, 0, 0, 0, 0, 0, 0, list.length >> 8, list.length & 0xff, 0);
      commands.push(this.controller.command(this.lun, cdb, { direction: 'out', data: list }));
    }
    await Promise.all(commands);
  }

  /** The largest transfer of one SRB, whole blocks. */
  private get maxPiece(): number {
    return Math.max(this.blockSize, this.controller.maxTransferBytes - (this.controller.maxTransferBytes % this.blockSize));
  }

  /** Splits a range into transfers of at most the controller's maximum, block-aligned. */
  private pieces(offset: number, length: number): [number, number][] {
    const max = this.maxPiece;
    const pieces: [number, number][] = [];
    for (let at = offset; at < offset + length; at += max) pieces.push([at, Math.min(max, offset + length - at)]);
    return pieces;
  }

  /**
   * A READ (16) or WRITE (16) CDB for `size` bytes at byte `offset`: big-endian LBA in bytes 2-9,
   * block count in 10-13, written bytewise (no DataView or BigInt per request). The LBA is below
   * 2^53 (a safe integer), so its top 32 bits come from one division.
   */
  private rw(opcode: number, offset: number, size: number): Uint8Array {
    const cdb = new Uint8Array(16);
    const lba = offset / this.blockSize;
    const blocks = size / this.blockSize;
    cdb[0] = opcode;
    putU32(cdb, 2, Math.floor(lba / 2 ** 32));
    putU32(cdb, 6, lba >>> 0);
    putU32(cdb, 10, blocks);
    return cdb;
  }

  /** @throws {DiskRequestError} */
  private check(offset: number, length: number): void {
    const bad = this.problem(offset, length);
    if (bad !== undefined) throw bad;
  }

  /** Why `[offset, +length)` is not a request (not whole blocks, negative), or undefined. */
  private problem(offset: number, length: number): DiskRequestError | undefined {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset % this.blockSize !== 0 || length % this.blockSize !== 0) {
      return new DiskRequestError(`[${String(offset)}, +${String(length)}) is not whole ${this.blockSize}-byte blocks`);
    }
    return undefined;
  }
}

/** Drops a result: the promise of a request that resolves with nothing. */
function NOTHING(): void {}

/** Writes `value` (a u32) big-endian at `at`. */
function putU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}
