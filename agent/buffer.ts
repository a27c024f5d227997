// The sender's bounded buffer of encoded blocks (snappy-compressed remote-write 1.0 requests), one FIFO
// per shard. Blocks stay in memory up to `memoryBytes`; beyond that, when a directory is configured, the
// newest blocks are written to it (in the chart: a memory-backed emptyDir with a sizeLimit) and read back
// when their turn comes. Beyond `maxBytes` in total the oldest blocks are dropped, counted. Files left by
// a previous run (a crash, a restart, a shutdown that could not deliver everything) are recovered at
// start, in order, and sent before anything new.
//
// File format: "TTB1" | u32 samples | u32 payload length | payload; written to `<seq>.tmp` and renamed to
// `<seq>.blk`, so a half-written file is never read back.

import { join } from 'node:path';
import type { Logger } from '../lib/log.ts';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from './fs.ts';

export interface Block {
  readonly seq: number;
  readonly shard: number;
  readonly samples: number;
  readonly size: number;
  /** The encoded request while in memory; null once spilled. */
  data: Uint8Array | null;
  /** The spill file once written. */
  file: string | null;
  writing: Promise<void> | null;
  inflight: boolean;
  removed: boolean;
}

export interface BufferOptions {
  /** Spill directory; memory only when absent. */
  dir?: string;
  memoryBytes: number;
  /** Bound of memory + disk; with no directory, the bound is memoryBytes. */
  maxBytes: number;
  shards: number;
  logger: Logger;
  /** Called with the samples of blocks dropped because the buffer is full (oldest first). */
  onDrop(samples: number, reason: 'buffer_full' | 'corrupt_spill'): void;
}

const MAGIC = Buffer.from('TTB1');
const HEADER = 12;

export class SpillBuffer {
  private readonly opts: BufferOptions;
  private readonly queues: Block[][];
  /** Blocks recovered from the directory at start: sent first, in order, before the shard queues. */
  readonly recovered: Block[] = [];
  private seq = 0;
  memBytes = 0;
  diskBytes = 0;
  samples = 0;

  constructor(opts: BufferOptions) {
    this.opts = opts;
    this.queues = Array.from({ length: opts.shards }, () => []);
  }

  get bound(): number {
    return this.opts.dir ? this.opts.maxBytes : this.opts.memoryBytes;
  }

  get blocks(): number {
    return this.queues.reduce((n, q) => n + q.length, 0) + this.recovered.length;
  }

  /** Creates the directory and picks up blocks a previous run left there. */
  async open(): Promise<void> {
    const dir = this.opts.dir;
    if (!dir) return;
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith('.tmp')) {
        await unlink(path).catch(() => {});
        continue;
      }
      const m = /^(\d{16})\.blk$/.exec(name);
      if (!m) continue;
      const bytes = await readFile(path).catch(() => null);
      const parsed = bytes ? parseFile(bytes) : null;
      if (!parsed) {
        this.opts.logger.warn('dropping an unreadable spill file', { file: path });
        await unlink(path).catch(() => {});
        continue;
      }
      const seq = Number(m[1]);
      this.seq = Math.max(this.seq, seq + 1);
      this.recovered.push({ seq, shard: -1, samples: parsed.samples, size: parsed.payload.length, data: null, file: path, writing: null, inflight: false, removed: false });
      this.diskBytes += parsed.payload.length;
      this.samples += parsed.samples;
    }
    if (this.recovered.length) this.opts.logger.info('recovered buffered blocks from a previous run', { blocks: this.recovered.length, samples: this.samples, dir });
    this.enforceBound();
  }

  /** Queues an encoded block on a shard; spills or drops as the bounds require. */
  push(shard: number, data: Uint8Array, samples: number): Block {
    const block: Block = { seq: this.seq++, shard, samples, size: data.length, data, file: null, writing: null, inflight: false, removed: false };
    this.queues[shard].push(block);
    this.memBytes += block.size;
    this.samples += samples;
    this.spill();
    this.enforceBound();
    return block;
  }

  peek(shard: number): Block | undefined {
    return this.queues[shard][0];
  }

  /** The bytes of a block, from memory or from its spill file. Null if the file cannot be read (counted, removed). */
  async load(block: Block): Promise<Uint8Array | null> {
    if (block.writing) await block.writing;
    if (block.data) return block.data;
    if (!block.file) return null;
    const bytes = await readFile(block.file).catch(() => null);
    const parsed = bytes ? parseFile(bytes) : null;
    if (!parsed) {
      this.opts.logger.warn('a spill file could not be read back; its samples are lost', { file: block.file, samples: block.samples });
      this.opts.onDrop(block.samples, 'corrupt_spill');
      this.remove(block);
      return null;
    }
    return parsed.payload;
  }

  /** Removes a block (sent, refused for good, or dropped) and its file. */
  remove(block: Block): void {
    if (block.removed) return;
    block.removed = true;
    const q = block.shard < 0 ? this.recovered : this.queues[block.shard];
    const i = q.indexOf(block);
    if (i >= 0) q.splice(i, 1);
    this.samples -= block.samples;
    if (block.data) this.memBytes -= block.size;
    else this.diskBytes -= block.size;
    const file = block.file;
    const del = () => {
      if (file) unlink(file).catch(() => {});
    };
    if (block.writing) block.writing.then(del, del);
    else del();
  }

  /** Writes every in-memory block to the directory (shutdown), so that the next run sends them. */
  async persistAll(): Promise<number> {
    if (!this.opts.dir) return 0;
    let n = 0;
    for (const q of this.queues) {
      for (const b of q) {
        if (b.writing) await b.writing.catch(() => {});
        if (b.data && !b.file && !b.removed) {
          this.startWrite(b);
          await b.writing!.catch(() => {});
        }
        if (b.file && !b.removed) n += b.samples;
      }
    }
    for (const b of this.recovered) if (!b.removed) n += b.samples;
    return n;
  }

  /** Memory over its bound: write the newest in-memory blocks that are not being sent to the directory. */
  private spill(): void {
    if (!this.opts.dir) return;
    let pendingMem = this.memBytes;
    for (const q of this.queues) for (const b of q) if (b.writing) pendingMem -= b.size;
    if (pendingMem <= this.opts.memoryBytes) return;
    // Newest first across shards.
    const candidates = this.queues.flat().filter((b) => b.data && !b.file && !b.writing && !b.inflight).sort((a, b) => b.seq - a.seq);
    for (const b of candidates) {
      if (pendingMem <= this.opts.memoryBytes) break;
      this.startWrite(b);
      pendingMem -= b.size;
    }
  }

  private startWrite(b: Block): void {
    const dir = this.opts.dir!;
    const name = String(b.seq).padStart(16, '0');
    const tmp = join(dir, `${name}.tmp`);
    const path = join(dir, `${name}.blk`);
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(b.samples, 4);
    header.writeUInt32LE(b.size, 8);
    b.writing = writeFile(tmp, Buffer.concat([header, b.data!]))
      .then(() => rename(tmp, path))
      .then(
        () => {
          b.writing = null;
          b.file = path;
          if (b.removed) {
            unlink(path).catch(() => {});
            return;
          }
          if (!b.inflight) {
            b.data = null;
            this.memBytes -= b.size;
            this.diskBytes += b.size;
          } else {
            // Being sent right now: keep the memory copy; the file is the fallback if the process dies.
            b.file = path;
          }
        },
        (error: unknown) => {
          b.writing = null;
          unlink(tmp).catch(() => {});
          this.opts.logger.warn('cannot write to the buffer directory; keeping the block in memory', { error, dir });
        },
      );
  }

  /** Over the total bound: drop the oldest blocks that are not being sent. */
  private enforceBound(): void {
    const bound = this.bound;
    while (this.memBytes + this.diskBytes > bound) {
      let oldest: Block | undefined;
      for (const b of this.recovered) if (!b.inflight) { oldest = b; break; }
      if (!oldest) {
        for (const q of this.queues) {
          const b = q.find((x) => !x.inflight);
          if (b && (!oldest || b.seq < oldest.seq)) oldest = b;
        }
      }
      if (!oldest) break;
      this.opts.onDrop(oldest.samples, 'buffer_full');
      this.remove(oldest);
    }
  }
}

function parseFile(bytes: Buffer): { samples: number; payload: Buffer } | null {
  if (bytes.length < HEADER || !bytes.subarray(0, 4).equals(MAGIC)) return null;
  const samples = bytes.readUInt32LE(4);
  const len = bytes.readUInt32LE(8);
  if (bytes.length !== HEADER + len) return null;
  return { samples, payload: bytes.subarray(HEADER) };
}
