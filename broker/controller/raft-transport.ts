// How the quorum driver reaches the other voters: one PeerConnection per voter to its
// controller listener (the address in controller.quorum.voters). These connections carry only
// Raft traffic, so a fetch parked at the leader (long poll) never delays a broker's heartbeat or
// a forwarded request, which use connections of their own (controller-client.ts).
import type { Logger } from 'pino';
import type { RaftTransport } from '../../kraft/driver.js';
import type { Voter } from '../../kraft/voters.js';
import type { Reader, Writer } from '../../wire/primitives.js';
import { PeerConnection, PeerUnavailableError } from '../network/client.js';

export class VoterTransport implements RaftTransport {
  private readonly peers = new Map<number, PeerConnection>();
  private closed = false;

  constructor(
    private readonly voters: readonly Voter[],
    private readonly clientId: string,
    private readonly logger: Logger,
  ) {}

  send<T>(to: number, apiKey: number, version: number, encode: (w: Writer) => void, decode: (r: Reader) => T, timeoutMs: number): Promise<T> {
    const conn = this.connection(to);
    if (conn === null) return Promise.reject(new PeerUnavailableError(`no address for voter ${to}`));
    return conn.sendRaw(apiKey, version, encode, decode, timeoutMs);
  }

  private connection(id: number): PeerConnection | null {
    if (this.closed) return null;
    let c = this.peers.get(id);
    if (c !== undefined) return c;
    const addr = this.voters.find((v) => v.id === id)?.address ?? null;
    if (addr === null) return null;
    c = new PeerConnection(addr, this.clientId, this.logger.child({ voter: id }), 1_000);
    this.peers.set(id, c);
    return c;
  }

  close(): void {
    this.closed = true;
    for (const c of this.peers.values()) c.close();
    this.peers.clear();
  }
}
