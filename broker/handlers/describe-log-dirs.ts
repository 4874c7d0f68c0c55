// DescribeLogDirs (key 35): v0–v4
// Behaviour: every log directory with the size of each hosted partition (all, or those asked
// for), and the directory's total and usable bytes (v4+).
import { ApiKey } from '../../wire/generated/api.js';
import type { DescribeLogDirsRequest } from '../../wire/generated/messages/describe-log-dirs-request.js';
import type { DescribeLogDirsResponse } from '../../wire/generated/messages/describe-log-dirs-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const describeLogDirs = defineHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>({
  apiKey: ApiKey.DescribeLogDirs,
  name: 'DescribeLogDirs',
  ...specVersions(ApiKey.DescribeLogDirs),
  async handle(ctx, req) {
    const wanted = req.topics === null ? null : new Map(req.topics.map((t) => [t.topic, new Set(t.partitions)]));
    const dirs = await ctx.services.logManager.describeDirs();
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: dirs.map((d) => {
        const byTopic = new Map<string, Array<{ partitionIndex: number; partitionSize: bigint; offsetLag: bigint; isFutureKey: boolean }>>();
        for (const p of d.partitions) {
          if (wanted && !wanted.get(p.topic)?.has(p.partition)) continue;
          let list = byTopic.get(p.topic);
          if (!list) byTopic.set(p.topic, (list = []));
          list.push({ partitionIndex: p.partition, partitionSize: BigInt(p.sizeBytes), offsetLag: 0n, isFutureKey: false });
        }
        return {
          errorCode: d.error === null ? ErrorCode.NONE : ErrorCode.KAFKA_STORAGE_ERROR,
          logDir: d.path,
          topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
          totalBytes: BigInt(d.totalBytes),
          usableBytes: BigInt(d.usableBytes),
        };
      }),
    };
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, results: [] };
  },
});
