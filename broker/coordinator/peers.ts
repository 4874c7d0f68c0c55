// Connections from this broker to other brokers' (or its own) listeners, for the requests the
// coordinators send: WriteTxnMarkers to partition leaders, AddPartitionsToTxn verifyOnly to a
// transaction coordinator. The address of a broker comes from its registration in the metadata
// image, on the inter-broker listener (inter.broker.listener.name, else the listener named like
// this node's first one, else the broker's first endpoint). One PeerConnection per broker,
// replaced when the broker's address changes.
import type { Logger } from 'pino';
import type { MetadataImage } from '../../kraft/image.js';
import { PeerConnection } from '../network/client.js';

export class PeerPool {
  private readonly peers = new Map<number, PeerConnection>();
  private closed = false;

  constructor(
    private readonly opts: {
      image(): MetadataImage;
      /** The listener name to connect to. */
      readonly listenerName: string;
      readonly clientId: string;
      readonly logger: Logger;
    },
  ) {}

  /** A connection to broker `id`, or null when it is not registered, fenced, or has no endpoint. */
  get(id: number): PeerConnection | null {
    if (this.closed) return null;
    const b = this.opts.image().broker(id);
    if (!b || b.fenced) return null;
    const ep = b.listeners.find((l) => l.name === this.opts.listenerName) ?? b.listeners[0];
    if (!ep) return null;
    const existing = this.peers.get(id);
    if (existing && existing.address.host === ep.host && existing.address.port === ep.port) return existing;
    existing?.close();
    const conn = new PeerConnection({ host: ep.host, port: ep.port }, this.opts.clientId, this.opts.logger.child({ peer: id }));
    this.peers.set(id, conn);
    return conn;
  }

  close(): void {
    this.closed = true;
    for (const c of this.peers.values()) c.close();
    this.peers.clear();
  }
}
