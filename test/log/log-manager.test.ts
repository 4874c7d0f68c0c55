import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatCheckpoint, parseCheckpoint, readCheckpoint, writeCheckpoint } from '../../log/checkpoint.js';
import { logConfig } from '../../log/config.js';
import { parsePartitionDirName } from '../../log/file-names.js';
import { CLEAN_SHUTDOWN_FILE, LogManager } from '../../log/log-manager.js';
import { ensureMetaProperties, readMetaProperties } from '../../log/meta-properties.js';
import { batch, cleanupTempDirs, logger, readAll, tempDir, TestClock } from './helpers.js';

afterEach(cleanupTempDirs);

function open(logDirs: string[], clock = new TestClock()) {
  return LogManager.open({ logDirs, defaults: logConfig({ fileDeleteDelayMs: 0 }), logger, clock });
}

describe('checkpoint files', () => {
  it('formats and parses Kafka\'s offset checkpoint text format', async () => {
    const entries = [
      { topic: 'a-b.c', partition: 3, offset: 42 },
      { topic: 'x', partition: 0, offset: 0 },
    ];
    expect(formatCheckpoint(entries)).toBe('0\n2\na-b.c 3 42\nx 0 0\n');
    expect(parseCheckpoint(formatCheckpoint(entries))).toEqual(entries);
    expect(parseCheckpoint('0\n0\n')).toEqual([]);
    expect(() => parseCheckpoint('1\n0\n')).toThrow();
    expect(() => parseCheckpoint('0\n2\na 0 1\n')).toThrow();
    expect(() => parseCheckpoint('0\n1\na zero 1\n')).toThrow();
    const dir = tempDir();
    const file = path.join(dir, 'cp');
    expect(await readCheckpoint(file)).toEqual([]);
    await writeCheckpoint(file, entries);
    expect(await readCheckpoint(file)).toEqual(entries);
    expect(readdirSync(dir)).toEqual(['cp']);
  });

  it('parses partition directory names: partition after the last dash', () => {
    expect(parsePartitionDirName('my-topic.v2-13')).toEqual({ topic: 'my-topic.v2', partition: 13 });
    expect(parsePartitionDirName('t-0')).toEqual({ topic: 't', partition: 0 });
    expect(parsePartitionDirName('t-0.0123abcd-delete')).toBeNull();
    expect(parsePartitionDirName('t-x')).toBeNull();
    expect(parsePartitionDirName('noseparator')).toBeNull();
  });
});

describe('meta.properties', () => {
  it('writes on first start and refuses a different node or cluster', async () => {
    const dirs = [tempDir(), tempDir()];
    expect(await ensureMetaProperties(dirs, { nodeId: 1, clusterId: 'abcdefghijklmnopqrstuv' })).toBeNull();
    expect(await readMetaProperties(dirs[0]!)).toMatchObject({ version: 1, nodeId: 1, clusterId: 'abcdefghijklmnopqrstuv' });
    expect(readFileSync(path.join(dirs[1]!, 'meta.properties'), 'utf8')).toMatch(/^node\.id=1$/m);
    expect(await ensureMetaProperties(dirs, { nodeId: 1, clusterId: 'abcdefghijklmnopqrstuv' })).toBeNull();
    expect(await ensureMetaProperties(dirs, { nodeId: 2, clusterId: 'abcdefghijklmnopqrstuv' })).toMatch(/node/);
    expect(await ensureMetaProperties(dirs, { nodeId: 1, clusterId: 'otherotherotherotherot' })).toMatch(/cluster/);
  });
});

describe('LogManager', () => {
  it('creates logs in the least loaded dir, checkpoints, and reopens them after a clean shutdown', async () => {
    const dirs = [tempDir(), tempDir()];
    let mgr = await open(dirs);
    for (let p = 0; p < 4; p++) {
      const log = await mgr.getOrCreateLog('my-topic.v1', p, logConfig({ segmentBytes: 500 }));
      for (let i = 0; i <= p * 5; i++) await log.appendAsLeader(batch(2, { tag: `p${p}` }), 0).written;
      log.highWatermark = log.logEndOffset - 1;
    }
    expect(await mgr.getOrCreateLog('my-topic.v1', 0)).toBe(mgr.getLog('my-topic.v1', 0));
    expect(readdirSync(dirs[0]!).filter((n) => n.startsWith('my-topic'))).toHaveLength(2);
    expect(readdirSync(dirs[1]!).filter((n) => n.startsWith('my-topic'))).toHaveLength(2);
    const described = await mgr.describeDirs();
    expect(described).toHaveLength(2);
    expect(described[0]!.error).toBeNull();
    expect(described[0]!.totalBytes).toBeGreaterThan(0);
    expect(described[0]!.usableBytes).toBeGreaterThan(0);
    expect(described.flatMap((d) => d.partitions).map((p) => p.partition).sort()).toEqual([0, 1, 2, 3]);
    expect(described.flatMap((d) => d.partitions).every((p) => p.sizeBytes > 0 && p.offsetLag === 0 && !p.isFuture)).toBe(true);
    await mgr.close();

    for (const d of dirs) {
      expect(existsSync(path.join(d, CLEAN_SHUTDOWN_FILE))).toBe(true);
      const hw = readFileSync(path.join(d, 'replication-offset-checkpoint'), 'utf8');
      expect(hw).toMatch(/^0\n2\n/);
      expect(existsSync(path.join(d, 'recovery-point-offset-checkpoint'))).toBe(true);
      expect(existsSync(path.join(d, 'log-start-offset-checkpoint'))).toBe(true);
    }
    // Not ours: the KRaft metadata log and stray files.
    mkdirSync(path.join(dirs[0]!, '__cluster_metadata-0'));
    writeFileSync(path.join(dirs[0]!, 'some-file'), 'x');

    mgr = await open(dirs);
    expect(mgr.allLogs()).toHaveLength(4);
    for (const d of dirs) expect(existsSync(path.join(d, CLEAN_SHUTDOWN_FILE))).toBe(false);
    for (let p = 0; p < 4; p++) {
      const log = mgr.getLog('my-topic.v1', p)!;
      expect(log.logEndOffset).toBe((p * 5 + 1) * 2);
      expect(log.highWatermark).toBe(log.logEndOffset - 1);
      expect((await readAll(log)).every((r) => r.value.startsWith(`p${p}-`))).toBe(true);
    }
    await mgr.close();
  });

  it('recovers from the checkpointed recovery point after an unclean shutdown', async () => {
    const dir = tempDir();
    let mgr = await open([dir]);
    const log = await mgr.getOrCreateLog('t', 0, logConfig({ segmentBytes: 400 }));
    for (let i = 0; i < 20; i++) await log.appendAsLeader(batch(2), 0).written;
    await log.flush();
    await mgr.checkpoint();
    expect(readFileSync(path.join(dir, 'recovery-point-offset-checkpoint'), 'utf8')).toBe('0\n1\nt 0 40\n');
    for (let i = 0; i < 5; i++) await log.appendAsLeader(batch(2), 0).written;
    // "Crash": close the files without flushing, checkpointing or the clean-shutdown marker.
    await log.closeWithoutFlush();
    const seg = readdirSync(path.join(dir, 't-0')).filter((f) => f.endsWith('.log')).sort().pop()!;
    writeFileSync(path.join(dir, 't-0', seg), Buffer.from('torn'), { flag: 'a' });

    mgr = await open([dir]);
    const re = mgr.getLog('t', 0)!;
    expect(re.logEndOffset).toBe(50);
    expect(await readAll(re)).toHaveLength(50);
    await mgr.close();
  });

  it('deletes a log by renaming its dir and removing it', async () => {
    const dir = tempDir();
    const mgr = await open([dir]);
    const log = await mgr.getOrCreateLog('gone', 1);
    await log.appendAsLeader(batch(1), 0).written;
    await mgr.deleteLog('gone', 1);
    expect(mgr.getLog('gone', 1)).toBeUndefined();
    expect(readdirSync(dir).some((n) => n === 'gone-1')).toBe(false);
    await mgr.close();
    expect(readdirSync(dir).some((n) => n.startsWith('gone-1'))).toBe(false);
    // A leftover "-delete" dir from a crash is removed at the next open.
    mkdirSync(path.join(dir, 'old-0.0123456789abcdef0123456789abcdef-delete'));
    const again = await open([dir]);
    expect(again.allLogs()).toHaveLength(0);
    await again.close();
    expect(readdirSync(dir).some((n) => n.endsWith('-delete'))).toBe(false);
    expect(readFileSync(path.join(dir, 'log-start-offset-checkpoint'), 'utf8')).toBe('0\n0\n');
  });

  it('runs retention over every log', async () => {
    const clock = new TestClock(10_000_000);
    const dir = tempDir();
    const mgr = await open([dir], clock);
    const log = await mgr.getOrCreateLog('r', 0, logConfig({ segmentBytes: 300, retentionMs: 1000, fileDeleteDelayMs: 0 }));
    for (let i = 0; i < 10; i++) await log.appendAsLeader(batch(1, { ts: 1000 + i }), 0).written;
    const before = log.segmentCount;
    expect(before).toBeGreaterThan(2);
    expect(await mgr.runRetention(clock.nowMs())).toBe(before - 1);
    expect(log.segmentCount).toBe(1);
    expect(log.logStartOffset).toBe(log.segmentInfos()[0]!.baseOffset);
    mgr.startBackground({ retentionCheckIntervalMs: 10, checkpointIntervalMs: 10, flushSchedulerIntervalMs: 10 });
    await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(path.join(dir, 'replication-offset-checkpoint'))).toBe(true);
    await mgr.close();
  });
});

describe('LogManager tail cache budget', () => {
  it('shares one budget among its logs, so many partitions do not each keep a full tail in memory', async () => {
    const clock = new TestClock();
    const budget = 256 * 1024;
    const mgr = await LogManager.open({ logDirs: [tempDir()], defaults: logConfig(), logger, clock, tailCacheBudgetBytes: budget });
    const logs = await Promise.all(Array.from({ length: 8 }, (_, p) => mgr.getOrCreateLog('budget', p)));
    for (const log of logs) {
      for (let i = 0; i < 16; i++) await log.appendAsLeader(batch(8, { valueBytes: 2048 }), 0).written;
    }
    const cached = logs.reduce((sum, log) => sum + log.segmentInfos().reduce((s, seg) => s + seg.cachedBytes, 0), 0);
    // 8 logs × 64 KiB floor = the budget split evenly; without sharing each would keep ~256 KiB.
    expect(cached).toBeLessThanOrEqual(budget + 8 * 20_000);
    expect((await readAll(logs[0]!)).length).toBe(16 * 8);
    await mgr.close();
  });
});
