import { describe, expect, it } from 'vitest';
import { ErrorCode, ERRORS, errorMessage, errorName, isRetriable, KafkaError } from '../../wire/errors.js';

describe('error codes', () => {
  it('match Kafka for a spot check of codes', () => {
    const expected: Array<[string, number]> = [
      ['UNKNOWN_SERVER_ERROR', -1],
      ['NONE', 0],
      ['OFFSET_OUT_OF_RANGE', 1],
      ['CORRUPT_MESSAGE', 2],
      ['UNKNOWN_TOPIC_OR_PARTITION', 3],
      ['NOT_LEADER_OR_FOLLOWER', 6],
      ['REQUEST_TIMED_OUT', 7],
      ['MESSAGE_TOO_LARGE', 10],
      ['COORDINATOR_NOT_AVAILABLE', 15],
      ['NOT_COORDINATOR', 16],
      ['INVALID_TOPIC_EXCEPTION', 17],
      ['NOT_ENOUGH_REPLICAS', 19],
      ['REBALANCE_IN_PROGRESS', 27],
      ['UNSUPPORTED_VERSION', 35],
      ['TOPIC_ALREADY_EXISTS', 36],
      ['INVALID_REQUEST', 42],
      ['UNSUPPORTED_FOR_MESSAGE_FORMAT', 43],
      ['OUT_OF_ORDER_SEQUENCE_NUMBER', 45],
      ['INVALID_PRODUCER_EPOCH', 47],
      ['INVALID_PRODUCER_ID_MAPPING', 49],
      ['CONCURRENT_TRANSACTIONS', 51],
      ['KAFKA_STORAGE_ERROR', 56],
      ['UNKNOWN_PRODUCER_ID', 59],
      ['FENCED_LEADER_EPOCH', 74],
      ['UNSUPPORTED_COMPRESSION_TYPE', 76],
      ['MEMBER_ID_REQUIRED', 79],
      ['INVALID_RECORD', 87],
      ['PRODUCER_FENCED', 90],
      ['UNKNOWN_TOPIC_ID', 100],
      ['FENCED_MEMBER_EPOCH', 110],
      ['TRANSACTION_ABORTABLE', 120],
      ['INVALID_RECORD_STATE', 121],
      ['VOTER_NOT_FOUND', 127],
      ['SHARE_SESSION_LIMIT_REACHED', 133],
    ];
    for (const [name, code] of expected) {
      expect((ErrorCode as unknown as Record<string, number>)[name], name).toBe(code);
      expect(errorName(code)).toBe(name);
    }
  });

  it('are unique and contiguous from -1 to 133, with a table entry each', () => {
    const codes = Object.values(ErrorCode).filter((v): v is number => typeof v === 'number');
    expect(new Set(codes).size).toBe(codes.length);
    const sorted = [...codes].sort((a, b) => a - b);
    expect(sorted[0]).toBe(-1);
    expect(sorted[sorted.length - 1]).toBe(133);
    expect(sorted.length).toBe(135);
    expect(ERRORS.size).toBe(135);
    for (const code of codes) {
      const info = ERRORS.get(code)!;
      expect(info.code).toBe(code);
      expect(info.name).toBe(ErrorCode[code]);
      if (code !== ErrorCode.NONE) expect(info.message.length).toBeGreaterThan(0);
    }
  });

  it('knows which errors are retriable', () => {
    for (const c of [
      ErrorCode.CORRUPT_MESSAGE,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.LEADER_NOT_AVAILABLE,
      ErrorCode.NOT_ENOUGH_REPLICAS,
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      ErrorCode.KAFKA_STORAGE_ERROR,
      ErrorCode.CONCURRENT_TRANSACTIONS,
      ErrorCode.UNKNOWN_TOPIC_ID,
    ]) {
      expect(isRetriable(c), ErrorCode[c]).toBe(true);
    }
    for (const c of [
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_SERVER_ERROR,
      ErrorCode.OFFSET_OUT_OF_RANGE,
      ErrorCode.MESSAGE_TOO_LARGE,
      ErrorCode.UNSUPPORTED_VERSION,
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      ErrorCode.PRODUCER_FENCED,
      ErrorCode.INVALID_RECORD,
    ]) {
      expect(isRetriable(c), ErrorCode[c]).toBe(false);
    }
  });

  it('handles unknown codes', () => {
    expect(errorName(999)).toBe('UNKNOWN_ERROR_CODE(999)');
    expect(isRetriable(999)).toBe(false);
    expect(errorMessage(999)).toBe(errorMessage(ErrorCode.UNKNOWN_SERVER_ERROR));
  });

  it('KafkaError carries its code', () => {
    const e = new KafkaError(ErrorCode.INVALID_REQUEST);
    expect(e).toBeInstanceOf(Error);
    expect(e.errorCode).toBe(42);
    expect(e.message).toBe(errorMessage(42));
  });
});
