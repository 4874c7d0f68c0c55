// What the handlers of the controller listener can reach (a node with the controller role).
import type { Logger } from 'pino';
import type { RaftMetadataQuorum } from '../../kraft/raft-quorum.js';
import type { Voter } from '../../kraft/voters.js';
import type { BrokerConfig } from '../config.js';
import type { HandlerDef } from '../handler.js';
import type { QuorumController } from './quorum-controller.js';

export interface ControllerServices {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly logger: Logger;
  readonly config: BrokerConfig;
  readonly quorum: RaftMetadataQuorum;
  readonly controller: QuorumController;
  readonly voters: readonly Voter[];
  /** The listener the controller APIs are served on (controller.listener.names). */
  readonly listenerName: string;
  readonly handlers: ReadonlyMap<number, HandlerDef<any, any, ControllerServices>>;
  /** `controller.quorum.request.timeout.ms`: how long a quorum request may wait for the core. */
  readonly requestTimeoutMs: number;
}
