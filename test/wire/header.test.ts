import { describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { decodeApiVersionsRequest } from '../../wire/generated/messages/api-versions-request.js';
import {
  decodeRequestHeader,
  encodeResponseHeader,
  isSupportedVersion,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../wire/header.js';
import { DecodeError, Reader, Writer } from '../../wire/primitives.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('header versions', () => {
  it('request header: v2 for flexible API versions, v1 otherwise, v0 for ControlledShutdown v0', () => {
    expect(requestHeaderVersion(ApiKey.Produce, 8)).toBe(1);
    expect(requestHeaderVersion(ApiKey.Produce, 9)).toBe(2);
    expect(requestHeaderVersion(ApiKey.Metadata, 1)).toBe(1);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 2)).toBe(1);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 7)).toBe(2); // newer than known: still flexible
    expect(requestHeaderVersion(ApiKey.SaslHandshake, 1)).toBe(1); // never flexible
    expect(requestHeaderVersion(ApiKey.ControlledShutdown, 0)).toBe(0);
    expect(requestHeaderVersion(ApiKey.ControlledShutdown, 1)).toBe(1);
    expect(requestHeaderVersion(ApiKey.ControlledShutdown, 3)).toBe(2);
    expect(requestHeaderVersion(1000, 0)).toBe(1);
    expect(requestHeaderVersion(-1, 0)).toBe(1);
  });

  it('response header: v1 for flexible API versions, v0 otherwise, always v0 for ApiVersions', () => {
    expect(responseHeaderVersion(ApiKey.Produce, 8)).toBe(0);
    expect(responseHeaderVersion(ApiKey.Produce, 9)).toBe(1);
    expect(responseHeaderVersion(ApiKey.Fetch, 12)).toBe(1);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 4)).toBe(0);
    expect(responseHeaderVersion(1000, 5)).toBe(0);
  });

  it('isSupportedVersion follows the JSON valid versions', () => {
    expect(isSupportedVersion(ApiKey.Produce, 0)).toBe(true);
    expect(isSupportedVersion(ApiKey.Produce, 11)).toBe(true);
    expect(isSupportedVersion(ApiKey.Produce, 12)).toBe(false);
    expect(isSupportedVersion(ApiKey.ApiVersions, -1)).toBe(false);
    expect(isSupportedVersion(88, 0)).toBe(false);
  });
});

describe('decodeRequestHeader', () => {
  it('reads a flexible header (v2) and leaves the reader at the body', () => {
    const frame = hex('0012 0003 00000001 0007 72646b61666b61 00 0b6c696272646b61666b61 06322e332e30 00');
    const r = new Reader(frame);
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka', headerVersion: 2 });
    expect(decodeApiVersionsRequest(r, 3)).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.3.0' });
  });

  it('reads header v1 with a null client id', () => {
    const r = new Reader(hex('0003 0001 0000002a ffff 00000000'));
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 3, apiVersion: 1, correlationId: 42, clientId: null, headerVersion: 1 });
    expect(r.offset).toBe(10);
  });

  it('skips tagged fields of header v2', () => {
    const r = new Reader(hex('0000 0009 00000005 0001 61 01 05 02 abcd ee'));
    expect(decodeRequestHeader(r)).toMatchObject({ apiKey: 0, apiVersion: 9, correlationId: 5, clientId: 'a', headerVersion: 2 });
    expect(r.int8()).toBe(-18);
  });

  it('reads ControlledShutdown v0 with header v0 (no client id)', () => {
    const r = new Reader(hex('0007 0000 00000009 00000001'));
    expect(decodeRequestHeader(r)).toMatchObject({ apiKey: 7, apiVersion: 0, correlationId: 9, headerVersion: 0 });
    expect(r.offset).toBe(8);
  });

  it('reads ApiVersions of a version newer than known with header v2, as Kafka does', () => {
    const r = new Reader(hex('0012 0009 00000003 0003 636c69 00 0000'));
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 18, apiVersion: 9, correlationId: 3, clientId: 'cli', headerVersion: 2 });
  });

  it('still returns the correlation id of unknown keys and versions with a short header', () => {
    // Unknown key: read as v1.
    expect(decodeRequestHeader(new Reader(hex('03e8 0000 00000011 0000')))).toMatchObject({ apiKey: 1000, correlationId: 17, clientId: '' });
    // Unsupported version whose client id is cut off.
    expect(decodeRequestHeader(new Reader(hex('0012 0063 00000004 00')))).toMatchObject({ apiKey: 18, apiVersion: 99, correlationId: 4, clientId: null });
    expect(decodeRequestHeader(new Reader(hex('0000 0063 00000006')))).toMatchObject({ apiVersion: 99, correlationId: 6 });
  });

  it('throws DecodeError on truncated or malformed headers of supported versions', () => {
    expect(() => decodeRequestHeader(new Reader(hex('0012 0003 000000')))).toThrow(DecodeError);
    expect(() => decodeRequestHeader(new Reader(hex('')))).toThrow(DecodeError);
    expect(() => decodeRequestHeader(new Reader(hex('0003 0001 00000001 0005 6162')))).toThrow(DecodeError);
    expect(() => decodeRequestHeader(new Reader(hex('0003 0001 00000001 fffe')))).toThrow(DecodeError);
    expect(() => decodeRequestHeader(new Reader(hex('0012 0003 00000001 0000')))).toThrow(DecodeError); // no tagged fields
  });
});

describe('encodeResponseHeader', () => {
  const enc = (apiKey: number, version: number, correlationId: number) => {
    const w = new Writer();
    encodeResponseHeader(w, apiKey, version, correlationId);
    return w.toBuffer();
  };

  it('writes v0 (correlation id) or v1 (plus empty tagged fields)', () => {
    expect(enc(ApiKey.Metadata, 1, 7)).toEqual(hex('00000007'));
    expect(enc(ApiKey.Metadata, 9, 7)).toEqual(hex('00000007 00'));
    expect(enc(ApiKey.ApiVersions, 3, 1)).toEqual(hex('00000001'));
    expect(enc(ApiKey.Produce, 11, -1)).toEqual(hex('ffffffff 00'));
  });
});
