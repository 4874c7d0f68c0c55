// TEST-ONLY fault injection: network partitions for end-to-end tests of a cluster.
//
// Off unless the environment variable KAFKA_FAULT_INJECTION_FILE names a file (never set it in
// production). The broker then polls that file every 100 ms; a missing file means no faults,
// and the file holds JSON such as `{"isolated": true}`. A file that is not such JSON is ignored
// (the state stays as it was) with one warning per distinct content; it never stops the broker.
// Write the file atomically (write a temp file, rename it) so a half-written file is never read.
//
// `isolated: true` is the classic split brain: this node cannot talk to its peers in either
// direction, while clients still reach it.
//  - outgoing: every PeerConnection request (send and sendRaw) fails at once with
//    PeerUnavailableError, and open peer sockets are destroyed;
//  - incoming: a request on the controller listener, or on any other listener with a peer
//    broker's client id (/^(node|broker)-\d+-/: `node-<id>-raft`, `broker-<id>-controller-channel`,
//    `broker-<id>-txn`, `broker-<id>-replica-fetcher`), is dropped by closing its connection, and
//    connections from peers that are open when the isolation starts are closed.
// A node's connections to itself (its own listeners, its own id in a client id) are not cut: a
// partition separates machines, not a process from itself.
//
// Cost when off: one boolean test on the hot paths (`faults.enabled` / `faults.isolated`).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

export const FAULT_INJECTION_ENV = 'KAFKA_FAULT_INJECTION_FILE';
const POLL_MS = 100;
const PEER_CLIENT_ID = /^(node|broker)-(\d+)-/;
const PEER_ATTRIBUTE = 'fault-injection.peer';

export interface FaultState {
  readonly isolated: boolean;
}

/** What the router needs of a connection (broker/network/connection.ts's Connection). */
export interface FaultConnection {
  readonly socket: Socket;
  readonly attributes: Map<string, unknown>;
  close(reason: string): void;
}

const NO_FAULTS: FaultState = { isolated: false };

/** Parses the fault file's text; throws with a reason when it is not a fault description. */
export function parseFaultState(text: string): FaultState {
  if (text.trim() === '') return NO_FAULTS;
  const v: unknown = JSON.parse(text);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
  const isolated = (v as Record<string, unknown>).isolated;
  if (isolated !== undefined && typeof isolated !== 'boolean') throw new Error(`"isolated" must be a boolean, got ${JSON.stringify(isolated)}`);
  return { isolated: isolated === true };
}

export class FaultInjection {
  /** A fault file is configured (the hooks do more than one boolean test only then). */
  enabled = false;
  /** This node is cut off from its peers now. */
  isolated = false;

  private file: string | null = null;
  private logger: Logger | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  private lastText: string | null = null;
  private selfNodeId = -1;
  private controllerListenerName: string | null = null;
  private readonly selfEndpoints = new Set<string>();
  private readonly peerSockets = new Set<Socket>();
  private readonly incomingPeers = new Set<FaultConnection>();

  /** Starts polling `file` (no-op when `file` is empty/undefined). */
  start(file: string | undefined, logger: Logger): void {
    if (file === undefined || file === '') return;
    this.stop();
    this.enabled = true;
    this.file = file;
    this.logger = logger;
    logger.warn({ file }, `fault injection is ON (${FAULT_INJECTION_ENV}): test-only, never use in production`);
    try {
      this.apply(readFileSync(file, 'utf8'));
    } catch (err) {
      this.onReadError(err);
    }
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.enabled = false;
    this.isolated = false;
    this.lastText = null;
    this.file = null;
    this.peerSockets.clear();
    this.incomingPeers.clear();
  }

  /** Who this node is: its id, its controller listener, and every host:port it listens or advertises on. */
  setSelf(nodeId: number, controllerListenerName: string | null, endpoints: Iterable<{ host: string; port: number }>): void {
    this.selfNodeId = nodeId;
    this.controllerListenerName = controllerListenerName;
    this.selfEndpoints.clear();
    for (const e of endpoints) this.selfEndpoints.add(`${e.host}:${e.port}`);
  }

  /** Outgoing: the request to `address` must fail now (call only when `isolated`). */
  blocksPeer(address: { host: string; port: number }): boolean {
    return this.isolated && !this.selfEndpoints.has(`${address.host}:${address.port}`);
  }

  /** Outgoing: a socket to a peer just connected (call only when `enabled`). */
  trackPeerSocket(socket: Socket, address: { host: string; port: number }): void {
    if (this.selfEndpoints.has(`${address.host}:${address.port}`)) return;
    if (this.isolated) {
      socket.destroy();
      return;
    }
    this.peerSockets.add(socket);
    socket.once('close', () => this.peerSockets.delete(socket));
  }

  /**
   * Incoming: whether to drop this request (the caller closes nothing; this closes the
   * connection when it says true). Call only when `enabled`.
   */
  dropIncoming(conn: FaultConnection, listenerName: string, clientId: string | null): boolean {
    const fromPeer = listenerName === this.controllerListenerName ? !this.isSelfClientId(clientId) : this.isPeerClientId(clientId);
    if (!fromPeer) return false;
    if (this.isolated) {
      conn.close('fault injection: this node is isolated from its peers');
      return true;
    }
    if (!conn.attributes.has(PEER_ATTRIBUTE)) {
      conn.attributes.set(PEER_ATTRIBUTE, true);
      this.incomingPeers.add(conn);
      conn.socket.once('close', () => this.incomingPeers.delete(conn));
    }
    return false;
  }

  private isSelfClientId(clientId: string | null): boolean {
    if (clientId === null) return false;
    const m = PEER_CLIENT_ID.exec(clientId);
    return m !== null && Number(m[2]) === this.selfNodeId;
  }

  private isPeerClientId(clientId: string | null): boolean {
    if (clientId === null) return false;
    const m = PEER_CLIENT_ID.exec(clientId);
    return m !== null && Number(m[2]) !== this.selfNodeId;
  }

  private async poll(): Promise<void> {
    if (this.reading || this.file === null) return;
    this.reading = true;
    const file = this.file;
    try {
      const text = await readFile(file, 'utf8');
      if (this.file === file) this.apply(text);
    } catch (err) {
      if (this.file === file) this.onReadError(err);
    } finally {
      this.reading = false;
    }
  }

  private onReadError(err: unknown): void {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      this.apply(null);
      return;
    }
    const text = `<unreadable: ${(err as Error).message}>`;
    if (text !== this.lastText) {
      this.lastText = text;
      this.logger?.warn({ file: this.file, err: (err as Error).message }, 'fault injection: cannot read the fault file; ignored');
    }
  }

  /** `null` = no file = no faults. */
  private apply(text: string | null): void {
    if (text === this.lastText) return;
    this.lastText = text;
    let state: FaultState;
    if (text === null) state = NO_FAULTS;
    else {
      try {
        state = parseFaultState(text);
      } catch (err) {
        this.logger?.warn({ file: this.file, err: (err as Error).message, content: text.slice(0, 200) }, 'fault injection: malformed fault file ignored');
        return;
      }
    }
    this.set(state);
  }

  private set(state: FaultState): void {
    if (state.isolated === this.isolated) return;
    this.isolated = state.isolated;
    if (state.isolated) {
      const out = this.peerSockets.size;
      const inc = this.incomingPeers.size;
      for (const s of this.peerSockets) s.destroy();
      this.peerSockets.clear();
      for (const c of this.incomingPeers) c.close('fault injection: this node is isolated from its peers');
      this.incomingPeers.clear();
      this.logger?.warn({ closedOutgoing: out, closedIncoming: inc }, 'fault injection: ISOLATED from every peer (clients still served)');
    } else {
      this.logger?.warn('fault injection: isolation healed, peers reachable again');
    }
  }
}

/** The process's fault injection (one broker per process). */
export const faults = new FaultInjection();
