/**
 * The KRaft core: Kafka's Raft (KIP-595, pre-vote KIP-996, check-quorum) as a pure state machine.
 * No sockets, files, timers, clock or global randomness: inputs are `step(message)`, `tick()`,
 * `propose()`, `resign()` and `takeSnapshot()`; output is a `Ready` (see `ready.ts` for the
 * driver loop and its ordering rule), acknowledged with `advance()`.
 *
 * Roles and transitions are in `state.ts`. Behaviour, following Kafka's `KafkaRaftClient`:
 * - Elections. A voter whose election timer (Unattached) or fetch timer (Follower) expires
 *   becomes Prospective and asks every voter for a pre-vote at its current epoch. Voters grant a
 *   pre-vote if the asker's log is at least as up to date as theirs (last epoch, then end offset)
 *   and they are not following a leader they fetched from successfully (a vote request of either
 *   kind from a higher epoch moves the receiver to that epoch first). A majority of pre-votes
 *   makes it Candidate at epoch + 1 (it votes for itself, durably); a majority of real votes
 *   makes it Leader. One vote per epoch, persisted in the hard state before the answer leaves.
 *   Timeouts are randomized in [election timeout, 2 × election timeout) with the injected PRNG.
 * - A new leader appends a LeaderChange control entry at `epochStartOffset`, tells the voters with
 *   BeginQuorumEpoch (until each answers or fetches), and commits nothing until a majority has
 *   replicated past that entry (see `leader-state.ts`).
 * - Followers (and observers) pull with Fetch(fetchOffset = log end, lastFetchedEpoch). The
 *   leader answers with entries, parks the fetch until there is data or a new high watermark
 *   (long poll), answers `divergingEpoch` when the fetcher's log diverges (the follower truncates
 *   and fetches again), or `snapshotId` when the fetch offset is below its log start (the
 *   follower then downloads it with FetchSnapshot, chunk by chunk, and installs it). Fetch
 *   responses carry the high watermark; a follower's is min(leader's, its log end) and never
 *   decreases.
 * - Check-quorum: a leader that has not been fetched from by a majority within 1.5 × fetch
 *   timeout resigns (Resigned, then Unattached at epoch + 1 after an election timeout).
 *   `resign()` resigns gracefully: EndQuorumEpoch with the voters ordered by their end offset;
 *   the first preferred successor starts its pre-vote at once.
 * - Static voters: Vote/BeginQuorumEpoch/EndQuorumEpoch from or to a non-voter get
 *   INCONSISTENT_VOTER_SET; a request with an older epoch gets FENCED_LEADER_EPOCH with the current
 *   leader and epoch; a leader-only request to a non-leader gets NOT_LEADER_OR_FOLLOWER, with a
 *   newer epoch UNKNOWN_LEADER_EPOCH; malformed fields get INVALID_REQUEST. None of these change
 *   any state. Observers fetch like followers and never count for the high watermark.
 * - Requests: at most one in flight per destination, resent after the request timeout; a
 *   response is taken only if it matches the request in flight (others are stale and ignored);
 *   every state transition forgets the requests in flight.
 */
import { ErrorCode } from '../../wire/errors.js';
import { IllegalStateError } from './errors.js';
import { LeaderState } from './leader-state.js';
import { RaftLog } from './log.js';
import type {
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse,
  EndQuorumEpochRequest,
  EndQuorumEpochResponse,
  FetchRequest,
  FetchResponse,
  FetchSnapshotRequest,
  FetchSnapshotResponse,
  MessageBody,
  RaftMessage,
  RequestBody,
  VoteRequest,
  VoteResponse,
} from './messages.js';
import { voteOutcome } from './quorum.js';
import type { RaftStatus, Ready, RoleInfo } from './ready.js';
import { checkTransition, type EpochState, type FollowerState, type StateKind } from './state.js';
import type { RaftStorage } from './storage.js';
import { compareOffsetAndEpoch, type Entry, type HardState, type RandomInt, type SnapshotId } from './types.js';

export interface RaftConfig {
  /** `node.id`. */
  readonly nodeId: number;
  /** The ids of `controller.quorum.voters`. */
  readonly voters: readonly number[];
  /** `controller.quorum.election.timeout.ms` in ticks (randomized up to twice this). */
  readonly electionTimeoutTicks: number;
  /** `controller.quorum.fetch.timeout.ms` in ticks. */
  readonly fetchTimeoutTicks: number;
  /** `controller.quorum.request.timeout.ms` in ticks (must exceed the fetch max wait). */
  readonly requestTimeoutTicks: number;
  /** How long the leader may hold a fetch that has nothing to return. */
  readonly fetchMaxWaitTicks: number;
  /** Wait before resending to a node that answered with an error (`retry.backoff.ms`). */
  readonly retryBackoffTicks: number;
  readonly fetchMaxBytes: number;
  readonly snapshotChunkBytes: number;
}

export const DEFAULT_TIMING = {
  electionTimeoutTicks: 10,
  fetchTimeoutTicks: 20,
  requestTimeoutTicks: 8,
  fetchMaxWaitTicks: 3,
  retryBackoffTicks: 1,
  fetchMaxBytes: 1024 * 1024,
  snapshotChunkBytes: 1024 * 1024,
} as const;

export interface RaftCoreOptions {
  readonly config: Pick<RaftConfig, 'nodeId' | 'voters'> & Partial<RaftConfig>;
  /** What the driver persisted (the log and its snapshot). */
  readonly storage: RaftStorage;
  /** The persisted hard state, or null on first start. */
  readonly hardState: HardState | null;
  readonly rand: RandomInt;
}

export type ProposeResult =
  | { readonly ok: true; readonly offset: number; readonly epoch: number }
  | { readonly ok: false; readonly errorCode: ErrorCode; readonly leaderId: number | null; readonly epoch: number };

interface Inflight {
  readonly correlationId: number;
  readonly type: RequestBody['type'];
  readonly sentAt: number;
  readonly epoch: number;
  readonly preVote: boolean;
  readonly fetchOffset: number;
  readonly position: number;
}

const CHECK_QUORUM_TIMEOUT_FACTOR = 1.5;

export class RaftCore {
  readonly id: number;
  private readonly cfg: RaftConfig;
  private readonly voters: readonly number[];
  private readonly voterSet: ReadonlySet<number>;
  private readonly isVoter: boolean;
  private readonly log: RaftLog;
  private readonly rand: RandomInt;

  private now = 0;
  private state: EpochState;
  /** Local high watermark: never decreases. */
  private hw: number;
  private nextToApply: number;
  private lastHardState: HardState | null;
  private reportedHw: number;
  private reportedRole: RoleInfo | null = null;
  private outbox: RaftMessage[] = [];
  private readonly inflight = new Map<number, Inflight>();
  private readonly backoffUntil = new Map<number, number>();
  private nextCorrelationId = 1;
  private readyOutstanding = false;

  constructor(opts: RaftCoreOptions) {
    this.cfg = { ...DEFAULT_TIMING, ...opts.config };
    const c = this.cfg;
    if (c.requestTimeoutTicks <= c.fetchMaxWaitTicks) {
      throw new RangeError('requestTimeoutTicks must exceed fetchMaxWaitTicks');
    }
    if (c.electionTimeoutTicks < 1 || c.fetchTimeoutTicks < 1 || c.retryBackoffTicks < 0) {
      throw new RangeError('timeouts must be positive');
    }
    this.id = c.nodeId;
    this.voters = [...new Set(c.voters)].sort((a, b) => a - b);
    if (this.voters.length === 0) throw new RangeError('the voter set is empty');
    this.voterSet = new Set(this.voters);
    this.isVoter = this.voterSet.has(this.id);
    this.log = new RaftLog(opts.storage);
    this.rand = opts.rand;
    this.hw = this.log.startOffset();
    this.nextToApply = this.hw;
    this.reportedHw = this.hw;
    this.lastHardState = opts.hardState;
    this.state = this.initialState(opts.hardState ?? { epoch: 0, votedId: null, leaderId: null });
    if (this.isOnlyVoter() && this.state.kind === 'Unattached') this.becomeProspective();
    this.poll();
  }

  // ---------------------------------------------------------------- inputs

  /** One clock tick: timers, request timeouts, long-poll expiry. */
  tick(): void {
    this.now++;
    for (const [dest, f] of this.inflight) {
      if (this.now - f.sentAt >= this.cfg.requestTimeoutTicks) this.inflight.delete(dest);
    }
    const s = this.state;
    switch (s.kind) {
      case 'Unattached':
        if (this.isVoter && this.now >= s.electionDeadline) this.becomeProspective();
        break;
      case 'Prospective':
        if (this.now >= s.electionDeadline) this.prospectiveLost();
        break;
      case 'Candidate':
        if (this.now >= s.electionDeadline) this.becomeProspective();
        break;
      case 'Leader': {
        const expired = [...s.leader.parked.values()].filter((p) => this.now >= p.deadline);
        for (const p of expired) {
          s.leader.parked.delete(p.request.body.replicaId);
          this.serveFetch(p.request, false);
        }
        if (s.leader.checkQuorumExpired(this.now)) this.becomeResigned([]);
        break;
      }
      case 'Follower':
        if (this.now >= s.fetchDeadline) {
          if (this.isVoter) {
            this.becomeProspective();
          } else {
            // An observer asks any voter who leads now; the answer moves it on.
            this.inflight.delete(s.fetchTarget);
            s.fetchTarget = this.randomVoter();
            s.fetchDeadline = this.now + this.cfg.fetchTimeoutTicks;
          }
        }
        break;
      case 'Resigned':
        if (this.now >= s.electionDeadline) {
          this.becomeUnattached(s.epoch + 1);
          if (this.isOnlyVoter()) this.becomeProspective();
        }
        break;
    }
    this.poll();
  }

  /** A message from the network (requests are answered in the next Ready). */
  step(msg: RaftMessage): void {
    if (msg.to !== this.id) return;
    const b = msg.body;
    switch (b.type) {
      case 'VoteRequest':
        this.onVoteRequest(msg, b);
        break;
      case 'VoteResponse':
        this.onVoteResponse(msg, b);
        break;
      case 'BeginQuorumEpochRequest':
        this.onBeginQuorumEpochRequest(msg, b);
        break;
      case 'BeginQuorumEpochResponse':
        this.onBeginQuorumEpochResponse(msg, b);
        break;
      case 'EndQuorumEpochRequest':
        this.onEndQuorumEpochRequest(msg, b);
        break;
      case 'EndQuorumEpochResponse':
        this.onEndQuorumEpochResponse(msg, b);
        break;
      case 'FetchRequest':
        this.onFetchRequest(msg as RaftMessage<FetchRequest>, b);
        break;
      case 'FetchResponse':
        this.onFetchResponse(msg, b);
        break;
      case 'FetchSnapshotRequest':
        this.onFetchSnapshotRequest(msg, b);
        break;
      case 'FetchSnapshotResponse':
        this.onFetchSnapshotResponse(msg, b);
        break;
    }
    this.poll();
  }

  /** Appends an application record if this node leads; it is committed once the HW passes it. */
  propose(data: Uint8Array): ProposeResult {
    const s = this.state;
    if (s.kind !== 'Leader') {
      return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, leaderId: this.leaderId(), epoch: s.epoch };
    }
    const offset = this.log.endOffset();
    this.log.append({ kind: 'data', offset, epoch: s.epoch, data });
    this.completeParkedFetches();
    return { ok: true, offset, epoch: s.epoch };
  }

  /** Graceful resignation (shutdown): Leader → Resigned, EndQuorumEpoch to the voters. */
  resign(): boolean {
    const s = this.state;
    if (s.kind !== 'Leader') return false;
    this.becomeResigned(s.leader.votersByDescendingEndOffset());
    this.poll();
    return true;
  }

  /**
   * The application snapshotted its state at `endOffset` (everything below it applied): the log
   * may start there. Returns the snapshot id, or null if the log already starts at or after it.
   */
  takeSnapshot(endOffset: number, data: Uint8Array): SnapshotId | null {
    if (endOffset > this.nextToApply) {
      throw new IllegalStateError(`snapshot at ${endOffset} but only offsets below ${this.nextToApply} were handed out as committed`);
    }
    if (endOffset <= this.log.startOffset()) return null;
    const id = { endOffset, epoch: this.log.epochAt(endOffset - 1) };
    this.log.compact({ id, data });
    return id;
  }

  // ---------------------------------------------------------------- outputs

  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    return (
      this.outbox.length > 0 ||
      this.log.hasPendingChanges() ||
      !sameHardState(this.hardState(), this.lastHardState) ||
      this.hw !== this.reportedHw ||
      this.nextToApply < Math.min(this.hw, this.log.endOffset()) ||
      !sameRole(this.roleInfo(), this.reportedRole)
    );
  }

  /** Everything to persist, send and apply since the last Ready. Call `advance()` after. */
  ready(): Ready {
    if (this.readyOutstanding) throw new IllegalStateError('ready() called before advance()');
    this.readyOutstanding = true;
    const changes = this.log.takePendingChanges();
    const hs = this.hardState();
    const hardState = sameHardState(hs, this.lastHardState) ? null : hs;
    this.lastHardState = hs;
    const committedEnd = Math.min(this.hw, this.log.endOffset());
    const committed: Entry[] = [];
    for (let o = Math.max(this.nextToApply, this.log.startOffset()); o < committedEnd; o++) committed.push(this.log.entryAt(o));
    this.nextToApply = Math.max(this.nextToApply, committedEnd);
    const highWatermark = this.hw !== this.reportedHw ? this.hw : null;
    this.reportedHw = this.hw;
    const role = this.roleInfo();
    const roleOut = sameRole(role, this.reportedRole) ? null : role;
    this.reportedRole = role;
    const messages = this.outbox;
    this.outbox = [];
    return { ...changes, hardState, messages, highWatermark, committed, role: roleOut };
  }

  /** The last Ready is persisted (and its messages sent, its entries applied). */
  advance(): void {
    if (!this.readyOutstanding) throw new IllegalStateError('advance() without an outstanding Ready');
    this.readyOutstanding = false;
    this.log.persisted();
    const s = this.state;
    if (s.kind === 'Leader' && s.leader.updateLocalEnd(this.log.durableEndOffset())) this.onLeaderHighWatermark();
  }

  status(): RaftStatus {
    const s = this.state;
    const replicas = (m: Map<number, { endOffset: number | null; lastFetchTick: number | null }>) =>
      [...m.entries()].sort(([a], [b]) => a - b).map(([id, r]) => ({ id, endOffset: r.endOffset, lastFetchTick: r.lastFetchTick }));
    return {
      nodeId: this.id,
      isVoter: this.isVoter,
      kind: s.kind,
      epoch: s.epoch,
      leaderId: this.leaderId(),
      votedId: this.votedId(),
      highWatermark: this.hw,
      logStartOffset: this.log.startOffset(),
      logEndOffset: this.log.endOffset(),
      lastEpoch: this.log.lastEpoch(),
      appliedOffset: this.nextToApply,
      tick: this.now,
      leader:
        s.kind === 'Leader'
          ? {
              epochStartOffset: s.leader.epochStartOffset,
              highWatermark: s.leader.highWatermark,
              voters: replicas(s.leader.voters),
              observers: replicas(s.leader.observers),
            }
          : null,
    };
  }

  /** The entry at `offset` of the current log view (tests and DescribeQuorum tooling). */
  entryAt(offset: number): Entry {
    return this.log.entryAt(offset);
  }

  // ---------------------------------------------------------------- derived state

  private leaderId(): number | null {
    const s = this.state;
    switch (s.kind) {
      case 'Follower':
      case 'Prospective':
        return s.leaderId;
      case 'Leader':
      case 'Resigned':
        return this.id;
      default:
        return null;
    }
  }

  private votedId(): number | null {
    const s = this.state;
    switch (s.kind) {
      case 'Unattached':
      case 'Prospective':
      case 'Follower':
        return s.votedId;
      default:
        return this.id;
    }
  }

  private hardState(): HardState {
    return { epoch: this.state.epoch, votedId: this.votedId(), leaderId: this.leaderId() };
  }

  private roleInfo(): RoleInfo {
    return { kind: this.state.kind, epoch: this.state.epoch, leaderId: this.leaderId() };
  }

  private isOnlyVoter(): boolean {
    return this.voters.length === 1 && this.isVoter;
  }

  private randomElectionTimeout(): number {
    const e = this.cfg.electionTimeoutTicks;
    return e + this.rand(e);
  }

  private randomVoter(): number {
    return this.voters[this.rand(this.voters.length)]!;
  }

  // ---------------------------------------------------------------- transitions

  private initialState(hs: HardState): EpochState {
    const lastEpoch = this.log.lastEpoch();
    if (hs.epoch < lastEpoch) {
      // The log is ahead of the quorum-state file: start unattached in the log's epoch.
      return this.unattached(lastEpoch, null);
    }
    if (this.isVoter && hs.leaderId === this.id) {
      // A leader restarts resigned: it must not vote or lead again in that epoch.
      return { kind: 'Resigned', epoch: hs.epoch, preferredSuccessors: [], acked: new Set([this.id]), electionDeadline: this.randomElectionTimeout() };
    }
    if (hs.leaderId !== null && hs.leaderId !== this.id && this.voterSet.has(hs.leaderId)) {
      return this.follower(hs.epoch, hs.leaderId, this.isVoter ? hs.votedId : null);
    }
    if (this.isVoter && hs.votedId === this.id) {
      return { kind: 'Candidate', epoch: hs.epoch, granted: new Set([this.id]), rejected: new Set(), electionDeadline: this.randomElectionTimeout() };
    }
    return this.unattached(hs.epoch, this.isVoter ? hs.votedId : null);
  }

  private unattached(epoch: number, votedId: number | null): EpochState {
    return {
      kind: 'Unattached',
      epoch,
      votedId,
      electionDeadline: this.isVoter ? this.now + this.randomElectionTimeout() : Infinity,
    };
  }

  private follower(epoch: number, leaderId: number, votedId: number | null): FollowerState {
    return {
      kind: 'Follower',
      epoch,
      leaderId,
      votedId,
      fetchDeadline: this.now + this.cfg.fetchTimeoutTicks,
      hasFetchedFromLeader: false,
      fetchTarget: leaderId,
      snapshot: null,
    };
  }

  private transition(next: EpochState, keepRequests = false): void {
    const prev = this.state;
    checkTransition(prev, next, this.isVoter);
    this.state = next;
    if (!keepRequests) {
      this.inflight.clear();
      this.backoffUntil.clear();
    }
    if (prev.kind === 'Leader' && next.kind !== 'Leader') {
      // Answer the parked fetches: this node no longer leads.
      const parked = [...prev.leader.parked.values()];
      prev.leader.parked.clear();
      for (const p of parked) this.respond(p.request, this.fetchError(ErrorCode.NOT_LEADER_OR_FOLLOWER));
    }
  }

  private becomeUnattached(epoch: number): void {
    const votedId = epoch === this.state.epoch ? this.votedId() : null;
    this.transition(this.unattached(epoch, votedId));
  }

  private becomeFollower(epoch: number, leaderId: number): void {
    const votedId = epoch === this.state.epoch && this.isVoter ? this.votedId() : null;
    this.transition(this.follower(epoch, leaderId, votedId));
  }

  private becomeProspective(): void {
    const s = this.state;
    this.transition({
      kind: 'Prospective',
      epoch: s.epoch,
      votedId: this.votedId(),
      leaderId: s.kind === 'Follower' ? s.leaderId : null,
      granted: new Set([this.id]),
      rejected: new Set(),
      electionDeadline: this.now + this.randomElectionTimeout(),
    });
    this.maybeFinishPreVote();
  }

  /** Lost or timed out the pre-vote: resume following the known leader, or wait unattached. */
  private prospectiveLost(): void {
    const s = this.state;
    if (s.kind !== 'Prospective') throw new IllegalStateError(`prospectiveLost in ${s.kind}`);
    if (s.leaderId !== null) this.transition(this.follower(s.epoch, s.leaderId, s.votedId));
    else this.transition(this.unattached(s.epoch, s.votedId));
  }

  private becomeCandidate(): void {
    this.transition({
      kind: 'Candidate',
      epoch: this.state.epoch + 1,
      granted: new Set([this.id]),
      rejected: new Set(),
      electionDeadline: this.now + this.randomElectionTimeout(),
    });
    this.maybeFinishVote();
  }

  private becomeLeader(): void {
    const s = this.state;
    if (s.kind !== 'Candidate') throw new IllegalStateError(`becomeLeader in ${s.kind}`);
    const epochStartOffset = this.log.endOffset();
    const granting = [...s.granted].sort((a, b) => a - b);
    const leader = new LeaderState(
      this.id,
      this.voters,
      granting,
      epochStartOffset,
      this.now,
      Math.floor(this.cfg.fetchTimeoutTicks * CHECK_QUORUM_TIMEOUT_FACTOR),
    );
    this.transition({ kind: 'Leader', epoch: s.epoch, leader });
    this.log.append({
      kind: 'leader-change',
      offset: epochStartOffset,
      epoch: s.epoch,
      leaderChange: {
        version: 0,
        leaderId: this.id,
        voters: this.voters.map((voterId) => ({ voterId })),
        grantingVoters: granting.map((voterId) => ({ voterId })),
      },
    });
    if (leader.updateLocalEnd(this.log.durableEndOffset())) this.onLeaderHighWatermark();
  }

  private becomeResigned(preferredSuccessors: readonly number[]): void {
    this.transition({
      kind: 'Resigned',
      epoch: this.state.epoch,
      preferredSuccessors,
      acked: new Set([this.id]),
      electionDeadline: this.now + this.randomElectionTimeout(),
    });
  }

  private maybeFinishPreVote(): void {
    const s = this.state;
    if (s.kind !== 'Prospective') return;
    const outcome = voteOutcome(this.voters.length, s.granted.size, s.rejected.size);
    if (outcome === 'won') this.becomeCandidate();
    else if (outcome === 'lost') this.prospectiveLost();
  }

  private maybeFinishVote(): void {
    const s = this.state;
    if (s.kind !== 'Candidate') return;
    // A lost election waits for the (randomized) election timeout, then pre-votes again.
    if (voteOutcome(this.voters.length, s.granted.size, s.rejected.size) === 'won') this.becomeLeader();
  }

  /**
   * Kafka's `maybeTransition`: a message named `leaderId` (or none) as the leader of `epoch`.
   * Two different leaders for one epoch is a safety violation and throws.
   */
  private maybeTransition(leaderId: number | null, epoch: number): void {
    if (leaderId !== null && !this.voterSet.has(leaderId)) leaderId = null;
    const current = this.leaderId();
    if (epoch === this.state.epoch && leaderId !== null && current !== null && current !== leaderId) {
      throw new IllegalStateError(`epoch ${epoch} has leader ${current} but a message names ${leaderId}`);
    }
    if (leaderId === this.id) {
      if (epoch === this.state.epoch && current === this.id) return;
      throw new IllegalStateError(`a message names this node leader of epoch ${epoch}; it is ${this.state.kind} in epoch ${this.state.epoch}`);
    }
    if (epoch > this.state.epoch) {
      if (leaderId !== null) this.becomeFollower(epoch, leaderId);
      else this.becomeUnattached(epoch);
    } else if (epoch === this.state.epoch && leaderId !== null && current === null) {
      this.becomeFollower(epoch, leaderId);
    }
  }

  /**
   * Kafka's `maybeHandleCommonResponse`. Returns true when the response was about another epoch
   * or carried an epoch error (and was handled here).
   */
  private handleCommonResponse(from: number, errorCode: number, leaderId: number | null, epoch: number): boolean {
    if (epoch < this.state.epoch || errorCode === ErrorCode.UNKNOWN_LEADER_EPOCH) {
      this.backoff(from);
      return true;
    }
    if (epoch > this.state.epoch || errorCode === ErrorCode.FENCED_LEADER_EPOCH || errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
      this.maybeTransition(leaderId, epoch);
      this.backoff(from);
      return true;
    }
    if (leaderId !== null && this.voterSet.has(leaderId) && leaderId !== this.id && this.leaderId() === null) {
      this.becomeFollower(epoch, leaderId);
      return errorCode !== ErrorCode.NONE;
    }
    return false;
  }

  private onLeaderHighWatermark(): void {
    const s = this.state;
    if (s.kind !== 'Leader' || s.leader.highWatermark === null) return;
    if (s.leader.highWatermark > this.hw) this.hw = s.leader.highWatermark;
    this.completeParkedFetches();
  }

  // ---------------------------------------------------------------- requests out

  private canSend(dest: number): boolean {
    return !this.inflight.has(dest) && (this.backoffUntil.get(dest) ?? -1) <= this.now;
  }

  private backoff(dest: number): void {
    this.backoffUntil.set(dest, this.now + this.cfg.retryBackoffTicks);
  }

  private send(dest: number, body: RequestBody, meta: { preVote?: boolean; fetchOffset?: number; position?: number } = {}): void {
    const correlationId = this.nextCorrelationId++;
    this.inflight.set(dest, {
      correlationId,
      type: body.type,
      sentAt: this.now,
      epoch: this.state.epoch,
      preVote: meta.preVote ?? false,
      fetchOffset: meta.fetchOffset ?? -1,
      position: meta.position ?? -1,
    });
    this.outbox.push({ from: this.id, to: dest, correlationId, body });
  }

  private respond(req: RaftMessage, body: MessageBody): void {
    this.outbox.push({ from: this.id, to: req.from, correlationId: req.correlationId, body });
  }

  /** The request in flight to `msg.from` that `msg` answers, removed; undefined if stale. */
  private takeInflight(msg: RaftMessage, type: RequestBody['type']): Inflight | undefined {
    const f = this.inflight.get(msg.from);
    if (f === undefined || f.correlationId !== msg.correlationId || f.type !== type) return undefined;
    this.inflight.delete(msg.from);
    return f;
  }

  /** Sends whatever the current state has due. */
  private poll(): void {
    const s = this.state;
    switch (s.kind) {
      case 'Unattached':
        if (!this.isVoter && this.inflight.size === 0) {
          const v = this.randomVoter();
          if (this.canSend(v)) this.sendFetch(v);
        }
        break;
      case 'Prospective':
      case 'Candidate': {
        const { offset, epoch } = this.log.endOffsetAndEpoch();
        const preVote = s.kind === 'Prospective';
        for (const v of this.voters) {
          if (v === this.id || s.granted.has(v) || s.rejected.has(v) || !this.canSend(v)) continue;
          this.send(v, { type: 'VoteRequest', candidateEpoch: s.epoch, candidateId: this.id, lastOffsetEpoch: epoch, lastOffset: offset, preVote }, { preVote });
        }
        break;
      }
      case 'Leader':
        for (const v of this.voters) {
          if (v === this.id || s.leader.acknowledged.has(v) || !this.canSend(v)) continue;
          this.send(v, { type: 'BeginQuorumEpochRequest', leaderId: this.id, leaderEpoch: s.epoch });
        }
        break;
      case 'Follower':
        if (this.canSend(s.fetchTarget)) {
          if (s.snapshot !== null) {
            this.send(
              s.fetchTarget,
              {
                type: 'FetchSnapshotRequest',
                replicaId: this.id,
                maxBytes: this.cfg.snapshotChunkBytes,
                currentLeaderEpoch: s.epoch,
                snapshotId: s.snapshot.id,
                position: s.snapshot.position,
              },
              { position: s.snapshot.position },
            );
          } else {
            this.sendFetch(s.fetchTarget);
          }
        }
        break;
      case 'Resigned':
        for (const v of this.voters) {
          if (v === this.id || s.acked.has(v) || !this.canSend(v)) continue;
          this.send(v, { type: 'EndQuorumEpochRequest', leaderId: this.id, leaderEpoch: s.epoch, preferredSuccessors: s.preferredSuccessors });
        }
        break;
    }
  }

  private sendFetch(dest: number): void {
    const fetchOffset = this.log.endOffset();
    this.send(
      dest,
      {
        type: 'FetchRequest',
        replicaId: this.id,
        maxWaitTicks: this.cfg.fetchMaxWaitTicks,
        maxBytes: this.cfg.fetchMaxBytes,
        currentLeaderEpoch: this.state.epoch,
        fetchOffset,
        lastFetchedEpoch: this.log.lastEpoch(),
        logStartOffset: this.log.startOffset(),
      },
      { fetchOffset },
    );
  }

  // ---------------------------------------------------------------- Vote

  private canGrantVote(candidateId: number, logUpToDate: boolean, preVote: boolean): boolean {
    const s = this.state;
    switch (s.kind) {
      case 'Unattached':
      case 'Prospective':
        if (preVote) return logUpToDate;
        if (s.votedId !== null) return s.votedId === candidateId;
        if (s.kind === 'Prospective' && s.leaderId !== null) return false;
        return logUpToDate;
      case 'Follower':
        // Refuse pre-votes while the leader is reachable (KIP-996); real votes: the epoch has a leader.
        return preVote && !s.hasFetchedFromLeader && logUpToDate;
      case 'Candidate':
      case 'Resigned':
        return preVote && logUpToDate;
      case 'Leader':
        return false;
    }
  }

  private voteError(errorCode: ErrorCode): VoteResponse {
    return { type: 'VoteResponse', errorCode, leaderId: this.leaderId(), leaderEpoch: this.state.epoch, voteGranted: false };
  }

  private onVoteRequest(msg: RaftMessage, b: VoteRequest): void {
    // A candidate bumped its epoch, so its log's last epoch is below it; a pre-vote is sent at the
    // prospective's current epoch, which its log may have reached.
    const illegalEpoch = b.preVote ? b.lastOffsetEpoch > b.candidateEpoch : b.lastOffsetEpoch >= b.candidateEpoch;
    if (b.candidateId < 0 || b.lastOffset < 0 || b.lastOffsetEpoch < 0 || illegalEpoch) {
      return this.respond(msg, this.voteError(ErrorCode.INVALID_REQUEST));
    }
    if (b.candidateEpoch < this.state.epoch) return this.respond(msg, this.voteError(ErrorCode.FENCED_LEADER_EPOCH));
    if (!this.isVoter || !this.voterSet.has(b.candidateId)) {
      return this.respond(msg, this.voteError(ErrorCode.INCONSISTENT_VOTER_SET));
    }
    if (b.candidateId === this.id) return this.respond(msg, this.voteError(ErrorCode.INVALID_REQUEST));
    // Kafka 4.0: any vote request from a higher epoch moves this node to it, pre-vote or not.
    // A pre-vote carries the asker's current (unbumped) epoch, so a node that merely lost touch
    // cannot raise anyone's epoch; one that is already in a higher epoch (an election started
    // there) must be able to pull the others along, or it would be stuck there forever.
    if (b.candidateEpoch > this.state.epoch) this.becomeUnattached(b.candidateEpoch);
    const upToDate = compareOffsetAndEpoch({ offset: b.lastOffset, epoch: b.lastOffsetEpoch }, this.log.endOffsetAndEpoch()) >= 0;
    const granted = this.canGrantVote(b.candidateId, upToDate, b.preVote);
    if (granted && !b.preVote) {
      const s = this.state;
      if ((s.kind === 'Unattached' || s.kind === 'Prospective') && s.votedId === null) {
        // Record the vote (durably, before the answer leaves) and restart the election timer.
        this.transition({ ...s, votedId: b.candidateId, electionDeadline: this.now + this.randomElectionTimeout() }, true);
      }
    }
    this.respond(msg, { type: 'VoteResponse', errorCode: ErrorCode.NONE, leaderId: this.leaderId(), leaderEpoch: this.state.epoch, voteGranted: granted });
  }

  private onVoteResponse(msg: RaftMessage, b: VoteResponse): void {
    const f = this.takeInflight(msg, 'VoteRequest');
    if (f === undefined) return;
    if (this.handleCommonResponse(msg.from, b.errorCode, b.leaderId, b.leaderEpoch)) return;
    if (b.errorCode !== ErrorCode.NONE) return this.backoff(msg.from);
    const s = this.state;
    if (f.epoch !== s.epoch) return;
    if (s.kind === 'Prospective' && f.preVote) {
      (b.voteGranted ? s.granted : s.rejected).add(msg.from);
      this.maybeFinishPreVote();
    } else if (s.kind === 'Candidate' && !f.preVote) {
      (b.voteGranted ? s.granted : s.rejected).add(msg.from);
      this.maybeFinishVote();
    }
  }

  // ---------------------------------------------------------------- BeginQuorumEpoch / EndQuorumEpoch

  /** Kafka's `validateVoterOnlyRequest` plus field checks; null when the request may proceed. */
  private validateVoterRequest(senderId: number, epoch: number): ErrorCode | null {
    if (epoch < this.state.epoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (senderId < 0 || senderId === this.id) return ErrorCode.INVALID_REQUEST;
    if (!this.isVoter || !this.voterSet.has(senderId)) return ErrorCode.INCONSISTENT_VOTER_SET;
    return null;
  }

  private epochResponse<T extends 'BeginQuorumEpochResponse' | 'EndQuorumEpochResponse'>(type: T, errorCode: ErrorCode) {
    return { type, errorCode, leaderId: this.leaderId(), leaderEpoch: this.state.epoch };
  }

  private onBeginQuorumEpochRequest(msg: RaftMessage, b: BeginQuorumEpochRequest): void {
    const err = this.validateVoterRequest(b.leaderId, b.leaderEpoch);
    if (err === null) this.maybeTransition(b.leaderId, b.leaderEpoch);
    this.respond(msg, this.epochResponse('BeginQuorumEpochResponse', err ?? ErrorCode.NONE));
  }

  private onBeginQuorumEpochResponse(msg: RaftMessage, b: BeginQuorumEpochResponse): void {
    const f = this.takeInflight(msg, 'BeginQuorumEpochRequest');
    if (f === undefined) return;
    if (this.handleCommonResponse(msg.from, b.errorCode, b.leaderId, b.leaderEpoch)) return;
    if (b.errorCode !== ErrorCode.NONE) return this.backoff(msg.from);
    const s = this.state;
    if (s.kind === 'Leader' && f.epoch === s.epoch) s.leader.acknowledged.add(msg.from);
  }

  private onEndQuorumEpochRequest(msg: RaftMessage, b: EndQuorumEpochRequest): void {
    const err = this.validateVoterRequest(b.leaderId, b.leaderEpoch);
    if (err === null) {
      this.maybeTransition(b.leaderId, b.leaderEpoch);
      const s = this.state;
      if (s.kind === 'Follower' && s.leaderId === b.leaderId) {
        // Kafka's endEpochElectionBackoff: the first preferred successor runs at once, the others
        // later in order, the rest after a random election timeout. The leader is gone, so grant
        // pre-votes from now on.
        const position = b.preferredSuccessors.indexOf(this.id);
        const delay = position < 0 ? this.randomElectionTimeout() : position * Math.ceil(this.cfg.electionTimeoutTicks / 2);
        s.fetchDeadline = Math.min(s.fetchDeadline, this.now + delay);
        s.hasFetchedFromLeader = false;
      }
    }
    this.respond(msg, this.epochResponse('EndQuorumEpochResponse', err ?? ErrorCode.NONE));
  }

  private onEndQuorumEpochResponse(msg: RaftMessage, b: EndQuorumEpochResponse): void {
    const f = this.takeInflight(msg, 'EndQuorumEpochRequest');
    if (f === undefined) return;
    if (this.handleCommonResponse(msg.from, b.errorCode, b.leaderId, b.leaderEpoch)) return;
    if (b.errorCode !== ErrorCode.NONE) return this.backoff(msg.from);
    const s = this.state;
    if (s.kind === 'Resigned' && f.epoch === s.epoch) s.acked.add(msg.from);
  }

  // ---------------------------------------------------------------- Fetch (leader side)

  /** Kafka's `validateLeaderOnlyRequest`. */
  private validateLeaderRequest(epoch: number): ErrorCode | null {
    if (epoch < this.state.epoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (epoch > this.state.epoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    if (this.state.kind !== 'Leader') return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return null;
  }

  private fetchError(errorCode: ErrorCode): FetchResponse {
    return {
      type: 'FetchResponse',
      errorCode,
      highWatermark: -1,
      logStartOffset: -1,
      divergingEpoch: null,
      currentLeader: { leaderId: this.leaderId(), leaderEpoch: this.state.epoch },
      snapshotId: null,
      entries: [],
    };
  }

  private onFetchRequest(msg: RaftMessage<FetchRequest>, b: FetchRequest): void {
    if (
      b.replicaId < 0 ||
      b.replicaId === this.id ||
      b.fetchOffset < 0 ||
      b.lastFetchedEpoch < 0 ||
      b.lastFetchedEpoch > b.currentLeaderEpoch ||
      b.maxBytes < 0 ||
      b.maxWaitTicks < 0
    ) {
      return this.respond(msg, this.fetchError(ErrorCode.INVALID_REQUEST));
    }
    const err = this.validateLeaderRequest(b.currentLeaderEpoch);
    if (err !== null) return this.respond(msg, this.fetchError(err));
    const s = this.state;
    if (s.kind !== 'Leader') return;
    s.leader.recordVoterContact(b.replicaId, this.now);
    this.serveFetch(msg, true);
  }

  /** Answers (or parks) a validated fetch at the leader. */
  private serveFetch(msg: RaftMessage<FetchRequest>, mayPark: boolean): void {
    const s = this.state;
    if (s.kind !== 'Leader') throw new IllegalStateError(`serveFetch in ${s.kind}`);
    const b = msg.body;
    const base: FetchResponse = {
      type: 'FetchResponse',
      errorCode: ErrorCode.NONE,
      highWatermark: s.leader.highWatermark ?? -1,
      logStartOffset: this.log.startOffset(),
      divergingEpoch: null,
      currentLeader: { leaderId: this.id, leaderEpoch: s.epoch },
      snapshotId: null,
      entries: [],
    };
    const v = this.log.validateOffsetAndEpoch(b.fetchOffset, b.lastFetchedEpoch);
    if (v.kind === 'diverging') {
      return this.respond(msg, { ...base, divergingEpoch: { epoch: v.endOffsetAndEpoch.epoch, endOffset: v.endOffsetAndEpoch.offset } });
    }
    if (v.kind === 'snapshot') return this.respond(msg, { ...base, snapshotId: v.snapshotId });
    if (s.leader.updateReplica(b.replicaId, b.fetchOffset, this.now)) this.onLeaderHighWatermark();
    const entries = b.fetchOffset < this.log.endOffset() ? this.log.read(b.fetchOffset, b.maxBytes) : [];
    const hw = s.leader.highWatermark ?? -1;
    const replica = s.leader.replica(b.replicaId);
    // Long poll: hold a fetch that would get nothing new (no entries, a high watermark it has).
    if (mayPark && entries.length === 0 && b.maxWaitTicks > 0 && hw <= replica.lastSentHighWatermark) {
      s.leader.parked.set(b.replicaId, { request: msg, deadline: this.now + b.maxWaitTicks });
      return;
    }
    replica.lastSentHighWatermark = Math.max(replica.lastSentHighWatermark, hw);
    this.respond(msg, { ...base, highWatermark: hw, entries });
  }

  /** New entries or a new high watermark: answer every parked fetch. */
  private completeParkedFetches(): void {
    const s = this.state;
    if (s.kind !== 'Leader' || s.leader.parked.size === 0) return;
    const parked = [...s.leader.parked.values()];
    s.leader.parked.clear();
    for (const p of parked) this.serveFetch(p.request, false);
  }

  private onFetchSnapshotRequest(msg: RaftMessage, b: FetchSnapshotRequest): void {
    const error = (errorCode: ErrorCode): FetchSnapshotResponse => ({
      type: 'FetchSnapshotResponse',
      errorCode,
      snapshotId: b.snapshotId,
      currentLeader: { leaderId: this.leaderId(), leaderEpoch: this.state.epoch },
      size: -1,
      position: -1,
      chunk: new Uint8Array(0),
    });
    if (b.replicaId < 0 || b.replicaId === this.id || b.position < 0 || b.maxBytes < 0) {
      return this.respond(msg, error(ErrorCode.INVALID_REQUEST));
    }
    const err = this.validateLeaderRequest(b.currentLeaderEpoch);
    if (err !== null) return this.respond(msg, error(err));
    const s = this.state;
    if (s.kind !== 'Leader') return;
    s.leader.recordVoterContact(b.replicaId, this.now);
    const snap = this.log.snapshot();
    if (snap === null || snap.id.endOffset !== b.snapshotId.endOffset || snap.id.epoch !== b.snapshotId.epoch) {
      return this.respond(msg, error(ErrorCode.SNAPSHOT_NOT_FOUND));
    }
    if (b.position > snap.data.length) return this.respond(msg, error(ErrorCode.POSITION_OUT_OF_RANGE));
    const len = Math.max(1, Math.min(b.maxBytes, this.cfg.snapshotChunkBytes));
    this.respond(msg, {
      type: 'FetchSnapshotResponse',
      errorCode: ErrorCode.NONE,
      snapshotId: snap.id,
      currentLeader: { leaderId: this.id, leaderEpoch: s.epoch },
      size: snap.data.length,
      position: b.position,
      chunk: snap.data.subarray(b.position, b.position + len),
    });
  }

  // ---------------------------------------------------------------- Fetch (follower side)

  /** The follower state `msg` may update, if it is the one that sent request `f`. */
  private fetchingFollower(msg: RaftMessage, f: Inflight): FollowerState | null {
    const s = this.state;
    if (s.kind !== 'Follower' || s.leaderId !== msg.from || s.epoch !== f.epoch) return null;
    return s;
  }

  private onFetchResponse(msg: RaftMessage, b: FetchResponse): void {
    const f = this.takeInflight(msg, 'FetchRequest');
    if (f === undefined) return;
    // Whatever a voter asked at random said, the next fetch goes to the leader known then.
    if (this.state.kind === 'Follower') this.state.fetchTarget = this.state.leaderId;
    if (this.handleCommonResponse(msg.from, b.errorCode, b.currentLeader.leaderId, b.currentLeader.leaderEpoch)) return;
    if (b.errorCode !== ErrorCode.NONE) return this.backoff(msg.from);
    const s = this.fetchingFollower(msg, f);
    if (s === null || s.snapshot !== null || this.log.endOffset() !== f.fetchOffset) return;
    s.fetchDeadline = this.now + this.cfg.fetchTimeoutTicks;
    s.hasFetchedFromLeader = true;

    if (b.divergingEpoch !== null) {
      const to = this.log.truncationOffsetFor({ offset: b.divergingEpoch.endOffset, epoch: b.divergingEpoch.epoch });
      if (to < this.hw || to < this.log.startOffset()) {
        throw new IllegalStateError(
          `leader ${msg.from} asks to truncate to ${to}, below the high watermark ${this.hw} / log start ${this.log.startOffset()}`,
        );
      }
      if (to >= this.log.endOffset()) return this.backoff(msg.from); // no progress: a confused answer
      this.log.truncate(to);
      return;
    }
    if (b.snapshotId !== null) {
      s.snapshot = { id: b.snapshotId, chunks: [], position: 0 };
      return;
    }
    // Entries must continue this log in order, within the leader's epoch.
    let expected = this.log.endOffset();
    let lastEpoch = this.log.lastEpoch();
    for (const e of b.entries) {
      if (e.offset !== expected || e.epoch < lastEpoch || e.epoch > s.epoch) return this.backoff(msg.from);
      expected++;
      lastEpoch = e.epoch;
    }
    for (const e of b.entries) this.log.append(e);
    const before = this.hw;
    if (b.highWatermark >= 0) this.hw = Math.max(this.hw, Math.min(b.highWatermark, this.log.endOffset()));
    // Nothing new (a long poll that expired): wait a little before the next fetch.
    if (b.entries.length === 0 && this.hw === before) this.backoff(msg.from);
  }

  private onFetchSnapshotResponse(msg: RaftMessage, b: FetchSnapshotResponse): void {
    const f = this.takeInflight(msg, 'FetchSnapshotRequest');
    if (f === undefined) return;
    if (this.state.kind === 'Follower') this.state.fetchTarget = this.state.leaderId;
    if (this.handleCommonResponse(msg.from, b.errorCode, b.currentLeader.leaderId, b.currentLeader.leaderEpoch)) return;
    const s = this.fetchingFollower(msg, f);
    if (b.errorCode !== ErrorCode.NONE) {
      // The snapshot is gone (replaced by a newer one) or the position is bad: fetch again.
      if (s !== null && (b.errorCode === ErrorCode.SNAPSHOT_NOT_FOUND || b.errorCode === ErrorCode.POSITION_OUT_OF_RANGE)) s.snapshot = null;
      return this.backoff(msg.from);
    }
    if (s === null || s.snapshot === null) return;
    const dl = s.snapshot;
    if (
      b.snapshotId.endOffset !== dl.id.endOffset ||
      b.snapshotId.epoch !== dl.id.epoch ||
      b.position !== dl.position ||
      f.position !== dl.position ||
      b.size < dl.position + b.chunk.length ||
      (b.chunk.length === 0 && dl.position < b.size)
    ) {
      s.snapshot = null;
      return this.backoff(msg.from);
    }
    s.fetchDeadline = this.now + this.cfg.fetchTimeoutTicks;
    s.hasFetchedFromLeader = true;
    dl.chunks.push(b.chunk);
    dl.position += b.chunk.length;
    if (dl.position < b.size) return;
    s.snapshot = null;
    const data = concat(dl.chunks, dl.position);
    if (dl.id.endOffset < this.hw) {
      throw new IllegalStateError(`snapshot ending at ${dl.id.endOffset} is below the high watermark ${this.hw}`);
    }
    this.log.installSnapshot({ id: dl.id, data });
    this.hw = Math.max(this.hw, dl.id.endOffset);
    this.nextToApply = dl.id.endOffset;
  }
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

function sameHardState(a: HardState, b: HardState | null): boolean {
  return b !== null && a.epoch === b.epoch && a.votedId === b.votedId && a.leaderId === b.leaderId;
}

function sameRole(a: RoleInfo, b: RoleInfo | null): boolean {
  return b !== null && a.kind === b.kind && a.epoch === b.epoch && a.leaderId === b.leaderId;
}

export type { StateKind };
