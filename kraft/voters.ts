/**
 * The static voter set (`controller.quorum.voters`) and how a node's role in the quorum follows
 * from its configuration:
 *
 *   controller.quorum.voters = 1@127.0.0.1:19093,2@127.0.0.1:29093,3@[::1]:39093
 *
 * - With voters set, a node with the controller role must be one of them; a broker-only node
 *   must not be (it fetches the metadata log as an observer).
 * - Without voters, a node with the controller role is the only voter (`<node.id>@<its controller
 *   listener, or none>`): a quorum of one that elects itself at start-up. A broker-only node
 *   without voters has no quorum to follow, which is a configuration error.
 */

export interface VoterAddress {
  readonly host: string;
  readonly port: number;
}

export interface Voter {
  readonly id: number;
  /** Where its controller listener is; null for the implicit single voter without a controller listener. */
  readonly address: VoterAddress | null;
}

export class VoterConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VoterConfigError';
  }
}

/** Parses `id@host:port,...` (IPv6 hosts in brackets). Throws `VoterConfigError` with the entry at fault. */
export function parseVoters(value: string): Voter[] {
  const out: Voter[] = [];
  const seen = new Set<number>();
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)@(\[[^\]]+\]|[^:@]+):(\d+)$/.exec(part);
    if (!m) throw new VoterConfigError(`controller.quorum.voters: "${part}" is not <id>@<host>:<port>`);
    const id = Number(m[1]);
    const port = Number(m[3]);
    if (!Number.isSafeInteger(id) || id < 0) throw new VoterConfigError(`controller.quorum.voters: bad node id in "${part}"`);
    if (port < 1 || port > 65535) throw new VoterConfigError(`controller.quorum.voters: bad port in "${part}"`);
    if (seen.has(id)) throw new VoterConfigError(`controller.quorum.voters: node ${id} is listed twice`);
    seen.add(id);
    let host = m[2]!;
    if (host.startsWith('[')) host = host.slice(1, -1);
    out.push({ id, address: { host, port } });
  }
  return out;
}

export interface QuorumRoleConfig {
  readonly nodeId: number;
  readonly roles: readonly string[];
  /** The raw `controller.quorum.voters` value ('' when unset). */
  readonly voters: string;
  /** This node's controller listener (host as bound, port), if it has one. */
  readonly controllerListener: VoterAddress | null;
}

export interface QuorumMembership {
  readonly voters: readonly Voter[];
  readonly isVoter: boolean;
  readonly isController: boolean;
  readonly isBroker: boolean;
}

/** The voter set and this node's place in it; throws `VoterConfigError` for inconsistent settings. */
export function quorumMembership(c: QuorumRoleConfig): QuorumMembership {
  const roles = new Set(c.roles);
  for (const r of roles) {
    if (r !== 'broker' && r !== 'controller') throw new VoterConfigError(`process.roles: unknown role "${r}"`);
  }
  if (roles.size === 0) throw new VoterConfigError('process.roles must name broker, controller or both');
  const isController = roles.has('controller');
  const isBroker = roles.has('broker');
  let voters = parseVoters(c.voters);
  if (voters.length === 0) {
    if (!isController) {
      throw new VoterConfigError('controller.quorum.voters must be set on a broker-only node (process.roles=broker)');
    }
    voters = [{ id: c.nodeId, address: c.controllerListener }];
  }
  const isVoter = voters.some((v) => v.id === c.nodeId);
  if (isController && !isVoter) {
    throw new VoterConfigError(`node ${c.nodeId} has the controller role but is not in controller.quorum.voters (${c.voters})`);
  }
  if (!isController && isVoter) {
    throw new VoterConfigError(`node ${c.nodeId} is in controller.quorum.voters but process.roles has no controller role`);
  }
  if (isController && voters.length > 1 && c.controllerListener === null) {
    throw new VoterConfigError('a voter of a multi-node quorum needs a controller listener (controller.listener.names in listeners)');
  }
  return { voters, isVoter, isController, isBroker };
}
