/**
 * MODE SENSE (6) and (10) data of a disk LUN (SPC-4 6.11/6.12, 7.5; SBC-3 6.5): the mode
 * parameter header (with WP for a read-only disk), an optional short block descriptor, and the
 * caching (0x08: WCE, since writes are cached until SYNCHRONIZE CACHE) and control (0x0A) pages.
 * Changeable values (page control 1) are all zero: nothing can be changed (no MODE SELECT).
 */
import { ModePage } from '@viridian/vmbus';

export interface ModeSenseRequest {
  readonly ten: boolean;
  readonly dbd: boolean;
  readonly pageControl: number;
  readonly page: number;
}

export interface ModeSenseDisk {
  readonly blocks: number;
  readonly blockSize: number;
  readonly readOnly: boolean;
}

/** The whole mode parameter data (the caller cuts it to the allocation length). */
export function modeSenseData(request: ModeSenseRequest, disk: ModeSenseDisk): Uint8Array {
  const changeable = request.pageControl === 1;
  const pages: Uint8Array[] = [];
  if (request.page === ModePage.caching || request.page === ModePage.all) {
    const caching = new Uint8Array(20);
    caching[0] = ModePage.caching;
    caching[1] = 18;
    if (!changeable) caching[2] = 0x04; // WCE
    pages.push(caching);
  }
  if (request.page === ModePage.control || request.page === ModePage.all) {
    const control = new Uint8Array(12);
    control[0] = ModePage.control;
    control[1] = 10;
    if (!changeable) control[3] = 0x10; // queue algorithm modifier 1: unrestricted reordering
    pages.push(control);
  }
  const descriptor = new Uint8Array(request.dbd ? 0 : 8);
  if (!request.dbd) {
    const blocks = Math.min(disk.blocks, request.ten ? 0xffff_ffff : 0xff_ffff);
    if (request.ten) {
      new DataView(descriptor.buffer).setUint32(0, blocks);
    } else {
      descriptor[1] = blocks >> 16;
      descriptor[2] = (blocks >> 8) & 0xff;
      descriptor[3] = blocks & 0xff;
    }
    descriptor[5] = disk.blockSize >> 16;
    descriptor[6] = (disk.blockSize >> 8) & 0xff;
    descriptor[7] = disk.blockSize & 0xff;
  }
  const headerSize = request.ten ? 8 : 4;
  const pagesLength = pages.reduce((sum, page) => sum + page.length, 0);
  const data = new Uint8Array(headerSize + descriptor.length + pagesLength);
  const deviceSpecific = disk.readOnly ? 0x80 : 0x00; // WP
  if (request.ten) {
    const v = new DataView(data.buffer);
    v.setUint16(0, data.length - 2);
    data[3] = deviceSpecific;
    v.setUint16(6, descriptor.length);
  } else {
    data[0] = data.length - 1;
    data[2] = deviceSpecific;
    data[3] = descriptor.length;
  }
  data.set(descriptor, headerSize);
  let at = headerSize + descriptor.length;
  for (const page of pages) {
    data.set(page, at);
    at += page.length;
  }
  return data;
}
