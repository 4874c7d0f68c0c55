// Listeners: accept sockets, enforce connection limits, hand each socket to a Connection.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Connection, RequestBudget, type ConnectionLimits, type RequestDispatcher } from './connection.js';

export interface ListenerSpec {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface NetworkLimits extends ConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
}

export class NetworkServer {
  private readonly servers: Server[] = [];
  private readonly connections = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  private nextConnectionId = 1;
  /** Ports actually bound, by listener name (port 0 binds an ephemeral port). */
  readonly boundPorts = new Map<string, number>();
  private readonly limits: NetworkLimits;

  constructor(
    private readonly dispatcherFor: (listener: ListenerSpec) => RequestDispatcher,
    limits: NetworkLimits,
    private readonly logger: Logger,
  ) {
    // queued.max.requests also bounds the unanswered requests of all connections together.
    this.limits = { ...limits, budget: limits.budget ?? new RequestBudget(limits.maxInFlightRequests) };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async listen(listeners: readonly ListenerSpec[]): Promise<void> {
    for (const l of listeners) {
      const dispatcher = this.dispatcherFor(l);
      const server = createServer({ noDelay: true }, (socket) => this.accept(l, socket, dispatcher));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: l.host === '' ? undefined : l.host, port: l.port, backlog: 1024 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address();
      if (addr && typeof addr === 'object') this.boundPorts.set(l.name, addr.port);
      this.servers.push(server);
      this.logger.info({ listener: l.name, host: l.host, port: this.boundPorts.get(l.name) }, 'listening');
    }
  }

  private accept(listener: ListenerSpec, socket: Socket, dispatcher: RequestDispatcher): void {
    const ip = socket.remoteAddress ?? '';
    const ipCount = this.perIp.get(ip) ?? 0;
    if (this.connections.size >= this.limits.maxConnections || ipCount >= this.limits.maxConnectionsPerIp) {
      this.logger.warn({ ip, listener: listener.name }, 'connection limit reached, refusing connection');
      socket.destroy();
      return;
    }
    this.perIp.set(ip, ipCount + 1);
    const id = this.nextConnectionId++;
    const log = this.logger.child({ conn: id, listener: listener.name, remote: `${ip}:${socket.remotePort}` });
    const conn = new Connection(id, socket, dispatcher, this.limits, log, (c) => {
      if (!this.connections.delete(c)) return;
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    });
    this.connections.add(conn);
  }

  /**
   * Stops accepting; every connection stops reading, answers the requests it already read and
   * is ended after its last response (within `graceMs`, then destroyed). Issue 8: destroying a
   * socket with responses still in its write buffer lost them.
   */
  async close(graceMs = 0): Promise<void> {
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await Promise.all([...this.connections].map((c) => c.drainAndEnd(graceMs)));
    for (const c of this.connections) c.socket.destroy();
    this.connections.clear();
    await closed;
  }
}
