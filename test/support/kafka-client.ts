// A typed Kafka client for tests, built on the project's generated codecs: send any API at any
// version and get the decoded response. For wire-level tests (every advertised version,
// replayed batches, bad input that a real client would never send).
import { API_SPECS, type ApiRequests, type ApiResponses } from '../../wire/generated/api.js';
import { decodeResponseHeader, encodeRequestFrame } from '../../wire/header.js';
import { Reader } from '../../wire/primitives.js';
import { RawConnection } from './raw-client.js';

export class KafkaTestClient {
  private constructor(
    readonly conn: RawConnection,
    readonly clientId = 'test-client',
  ) {}

  static async connect(port: number, clientId = 'test-client'): Promise<KafkaTestClient> {
    return new KafkaTestClient(await RawConnection.connect(port), clientId);
  }

  /** Sends one request and returns the decoded response (throws if the broker closes instead). */
  async send<K extends keyof ApiRequests & keyof ApiResponses>(apiKey: K, version: number, body: ApiRequests[K], timeoutMs = 10_000): Promise<ApiResponses[K]> {
    const correlationId = this.conn.correlationId();
    await this.conn.write(encodeRequestFrame(apiKey, version, correlationId, this.clientId, body));
    const payload = await this.conn.readFrame(timeoutMs);
    const r = new Reader(payload);
    const got = decodeResponseHeader(r, apiKey, version);
    if (got !== correlationId) throw new Error(`correlation id ${got}, expected ${correlationId}`);
    const decoded = API_SPECS[apiKey]!.decodeResponse(r, version) as ApiResponses[K];
    if (r.remaining() !== 0) throw new Error(`${r.remaining()} trailing bytes after ${API_SPECS[apiKey]!.name} v${version} response`);
    return decoded;
  }

  /** Sends a request that expects no response (Produce acks=0). */
  async sendNoResponse<K extends keyof ApiRequests>(apiKey: K, version: number, body: ApiRequests[K]): Promise<void> {
    await this.conn.write(encodeRequestFrame(apiKey, version, this.conn.correlationId(), this.clientId, body));
  }

  close(): void {
    this.conn.destroy();
  }
}

export async function withClient<T>(port: number, fn: (c: KafkaTestClient) => Promise<T>): Promise<T> {
  const c = await KafkaTestClient.connect(port);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}
