// One classic consumer group (JoinGroup/SyncGroup protocol) as pure state: members, their
// supported protocols and assignments, the generation, the selected protocol, the leader and
// the group state. No timers, no I/O, no clock: callers pass `nowMs` where a state change is
// time-stamped. The coordinator (coordinator.ts) drives it and owns the timers.
//
// States and legal moves (Kafka's ClassicGroupState.validPreviousStates, written forwards):
//
//   Empty ───────────────► PreparingRebalance ◄──────────── Stable
//     ▲                      │        ▲                        ▲
//     └──── (no members) ────┘        │                        │
//                            ▼        │                        │
//                      CompletingRebalance ──── (leader's SyncGroup stored) ──┘
//
//   any state ──► Dead (group deleted, all offsets expired, or the partition unloaded)
//
// A member waiting for its JoinGroup or SyncGroup response holds a callback here; completing
// it is how the coordinator answers the parked request.
import { ErrorCode } from '../../wire/errors.js';
import { Reader } from '../../wire/primitives.js';
import { decodeConsumerProtocolSubscription } from '../../wire/generated/messages/consumer-protocol-subscription.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const GROUP_STATES: readonly GroupState[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];

/** Legal next states of each state. Anything else is a bug (IllegalStateError). */
export const TRANSITIONS: Readonly<Record<GroupState, readonly GroupState[]>> = {
  Empty: ['PreparingRebalance', 'Dead'],
  PreparingRebalance: ['CompletingRebalance', 'Empty', 'Dead'],
  CompletingRebalance: ['Stable', 'PreparingRebalance', 'Dead'],
  Stable: ['PreparingRebalance', 'Dead'],
  Dead: ['Dead'],
};

/** A broken invariant of the group state machine: a bug, never a Kafka error. */
export class IllegalStateError extends Error {}

/** The protocol type of Kafka's consumer (its metadata is a ConsumerProtocolSubscription). */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface GroupProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface JoinResponseMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

/** What a parked JoinGroup is answered with (the handler shapes it for the request version). */
export interface JoinResult {
  errorCode: number;
  memberId: string;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  members: JoinResponseMember[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export type JoinCallback = (result: JoinResult) => void;
export type SyncCallback = (result: SyncResult) => void;

const EMPTY_BYTES = Buffer.alloc(0);

export function joinError(memberId: string, errorCode: number): JoinResult {
  return { errorCode, memberId, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, members: [] };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class GroupMember {
  awaitingJoin: JoinCallback | null = null;
  awaitingSync: SyncCallback | null = null;
  /** Joined in the current rebalance and not yet through a completed join phase. */
  isNew = false;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: readonly GroupProtocol[],
    public assignment: Buffer = EMPTY_BYTES,
  ) {}

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  get isAwaitingJoin(): boolean {
    return this.awaitingJoin !== null;
  }

  get isAwaitingSync(): boolean {
    return this.awaitingSync !== null;
  }

  /** The metadata this member sent for `protocol` (empty if it does not support it). */
  metadata(protocol: string | null): Buffer {
    if (protocol === null) return EMPTY_BYTES;
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES;
  }

  /** Same protocols, in the same order, with the same metadata bytes. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    for (let i = 0; i < protocols.length; i++) {
      const a = protocols[i]!;
      const b = this.protocols[i]!;
      if (a.name !== b.name || !a.metadata.equals(b.metadata)) return false;
    }
    return true;
  }

  /** The first protocol in this member's preference order that is a candidate. */
  vote(candidates: ReadonlySet<string>): string {
    const p = this.protocols.find((x) => candidates.has(x.name));
    if (!p) throw new IllegalStateError(`member ${this.memberId} supports none of the candidate protocols`);
    return p.name;
  }

  /** Whether an expired session timer should spare this member. */
  get hasSatisfiedHeartbeat(): boolean {
    if (this.isNew) return false;
    return this.isAwaitingJoin || this.isAwaitingSync;
  }
}

export class ClassicGroup {
  private _state: GroupState;
  private _previousState: GroupState = 'Dead';
  /** When the group entered its current state (null: unknown, e.g. loaded from an old record). */
  currentStateTimestamp: number | null;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  readonly members = new Map<string, GroupMember>();
  /** group.instance.id → member id. */
  private readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet. */
  private readonly pendingJoinMembers = new Set<string>();
  /** Members that got their JoinGroup response but have not sent SyncGroup yet. */
  private readonly pendingSyncMembers = new Set<string>();
  private numAwaitingJoin = 0;
  /** Protocol name → number of members supporting it. */
  private readonly supportedProtocols = new Map<string, number>();
  /** Topics the members subscribe to (consumer protocol), null when unknown. */
  subscribedTopics: ReadonlySet<string> | null = null;
  /** A member joined during the initial delayed rebalance (the delay may be extended). */
  newMemberAdded = false;

  constructor(
    readonly groupId: string,
    initialState: GroupState,
    nowMs: number | null,
  ) {
    this._state = initialState;
    this.currentStateTimestamp = nowMs;
  }

  get state(): GroupState {
    return this._state;
  }

  get previousState(): GroupState {
    return this._previousState;
  }

  is(state: GroupState): boolean {
    return this._state === state;
  }

  transitionTo(next: GroupState, nowMs: number): void {
    if (!TRANSITIONS[this._state].includes(next)) {
      throw new IllegalStateError(`group ${this.groupId}: illegal transition ${this._state} -> ${next}`);
    }
    this._previousState = this._state;
    this._state = next;
    this.currentStateTimestamp = nowMs;
  }

  /** Stable, CompletingRebalance and Empty groups can start a rebalance. */
  get canRebalance(): boolean {
    return TRANSITIONS[this._state].includes('PreparingRebalance');
  }

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): GroupMember | undefined {
    return this.members.get(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  get numAwaitingJoinResponse(): number {
    return this.numAwaitingJoin;
  }

  get numPendingJoinMembers(): number {
    return this.pendingJoinMembers.size;
  }

  /** Every member rejoined and no member id handed out with MEMBER_ID_REQUIRED is outstanding. */
  get hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin && this.pendingJoinMembers.size === 0;
  }

  /** The largest rebalance timeout of the members (0 without members). */
  get rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  // ---------------------------------------------------------------- membership

  add(member: GroupMember, callback: JoinCallback | null): void {
    if (member.groupInstanceId !== null) {
      if (this.staticMembers.has(member.groupInstanceId)) {
        throw new IllegalStateError(`group ${this.groupId}: static member ${member.groupInstanceId} is already a member`);
      }
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.protocolType !== member.protocolType) {
      throw new IllegalStateError(`group ${this.groupId}: protocol type ${member.protocolType} differs from ${this.protocolType}`);
    }
    if (!this.supportsProtocols(member.protocolType, member.protocols.map((p) => p.name))) {
      throw new IllegalStateError(`group ${this.groupId}: none of member ${member.memberId}'s protocols is supported`);
    }
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.incSupported(member);
    member.awaitingJoin = callback;
    if (member.isAwaitingJoin) this.numAwaitingJoin++;
    this.pendingJoinMembers.delete(member.memberId);
  }

  /** Registers a member read from a GroupMetadata record (loading: no join, no checks). */
  loadMember(member: GroupMember): void {
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.members.set(member.memberId, member);
    this.incSupported(member);
  }

  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      this.decSupported(member);
      if (member.isAwaitingJoin) this.numAwaitingJoin--;
      if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.isLeader(memberId)) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? null : next.value;
    }
    this.pendingJoinMembers.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
  }

  /** New protocols, timeouts and join callback for a rejoining member. */
  updateMember(member: GroupMember, protocols: readonly GroupProtocol[], rebalanceTimeoutMs: number, sessionTimeoutMs: number, callback: JoinCallback | null): void {
    this.decSupported(member);
    member.protocols = protocols;
    this.incSupported(member);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (callback !== null && !member.isAwaitingJoin) this.numAwaitingJoin++;
    else if (callback === null && member.isAwaitingJoin) this.numAwaitingJoin--;
    member.awaitingJoin = callback;
  }

  /**
   * A static member rejoined with a new member id: the old id is replaced (keeping protocols
   * and assignment); a request still parked under the old id is fenced.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): GroupMember {
    const old = this.members.get(oldMemberId);
    if (!old) throw new IllegalStateError(`group ${this.groupId}: cannot replace unknown member ${oldMemberId}`);
    this.members.delete(oldMemberId);
    this.completeJoin(old, { ...joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID) });
    this.completeSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID));
    const fresh = new GroupMember(newMemberId, old.groupInstanceId, old.clientId, old.clientHost, old.rebalanceTimeoutMs, old.sessionTimeoutMs, old.protocolType, old.protocols, old.assignment);
    this.members.set(newMemberId, fresh);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    this.staticMembers.set(groupInstanceId, newMemberId);
    return fresh;
  }

  isPendingMember(memberId: string): boolean {
    return this.pendingJoinMembers.has(memberId);
  }

  addPendingMember(memberId: string): void {
    if (this.members.has(memberId)) throw new IllegalStateError(`group ${this.groupId}: pending member ${memberId} is already a member`);
    this.pendingJoinMembers.add(memberId);
  }

  addPendingSyncMember(memberId: string): void {
    if (!this.members.has(memberId)) throw new IllegalStateError(`group ${this.groupId}: pending sync member ${memberId} is not a member`);
    this.pendingSyncMembers.add(memberId);
  }

  removePendingSyncMember(memberId: string): void {
    this.pendingSyncMembers.delete(memberId);
  }

  get hasReceivedSyncFromAllMembers(): boolean {
    return this.pendingSyncMembers.size === 0;
  }

  allPendingSyncMembers(): string[] {
    return [...this.pendingSyncMembers];
  }

  clearPendingSyncMembers(): void {
    this.pendingSyncMembers.clear();
  }

  /** Members that have not rejoined during the current join phase. */
  notYetRejoinedMembers(): GroupMember[] {
    return [...this.members.values()].filter((m) => !m.isAwaitingJoin);
  }

  /**
   * Keeps the leader if it rejoined, else picks the first member that rejoined. False when
   * there is no leader or no member rejoined.
   */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader?.isAwaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.isAwaitingJoin) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- protocols

  private incSupported(member: GroupMember): void {
    for (const p of member.protocols) this.supportedProtocols.set(p.name, (this.supportedProtocols.get(p.name) ?? 0) + 1);
  }

  private decSupported(member: GroupMember): void {
    for (const p of member.protocols) this.supportedProtocols.set(p.name, (this.supportedProtocols.get(p.name) ?? 0) - 1);
  }

  /**
   * An Empty group accepts any non-empty protocol type with at least one protocol; otherwise
   * the type must match and one of the protocols must be supported by every member.
   */
  supportsProtocols(protocolType: string, protocolNames: readonly string[]): boolean {
    if (this.is('Empty')) return protocolType !== '' && protocolNames.length > 0;
    return this.protocolType === protocolType && protocolNames.some((n) => (this.supportedProtocols.get(n) ?? 0) === this.members.size);
  }

  private candidateProtocols(): Set<string> {
    const out = new Set<string>();
    for (const [name, count] of this.supportedProtocols) if (count === this.members.size) out.add(name);
    return out;
  }

  /**
   * The protocol every member supports with the most votes, each member voting for its most
   * preferred candidate (Kafka's selectProtocol). Ties go to the protocol voted first.
   */
  selectProtocol(): string {
    if (this.members.size === 0) throw new IllegalStateError(`group ${this.groupId}: cannot select a protocol without members`);
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const v = m.vote(candidates);
      votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best!;
  }

  /**
   * The topics the members subscribe to, read from their consumer-protocol metadata (version 0
   * prefix of every version). Null when not a consumer group, no protocol yet, or unreadable.
   */
  computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    try {
      for (const m of this.members.values()) {
        const r = new Reader(m.metadata(this.protocolName));
        r.int16();
        for (const t of decodeConsumerProtocolSubscription(r, 0).topics) topics.add(t);
      }
    } catch {
      return null;
    }
    return topics;
  }

  /** Whether offsets of `topic` are in use (unknown subscriptions of a consumer group count as in use). */
  isSubscribedToTopic(topic: string): boolean {
    if (this.subscribedTopics === null) return this.protocolType === CONSUMER_PROTOCOL_TYPE;
    return this.subscribedTopics.has(topic);
  }

  /** Ends a join phase: next generation, protocol chosen, CompletingRebalance (or Empty without members). */
  initNextGeneration(nowMs: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance', nowMs);
    } else {
      this.protocolName = null;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('Empty', nowMs);
    }
    this.clearPendingSyncMembers();
  }

  /** The members as the leader's JoinGroup response lists them. */
  currentMemberMetadata(): JoinResponseMember[] {
    if (this.is('Dead') || this.is('PreparingRebalance')) {
      throw new IllegalStateError(`group ${this.groupId}: no member metadata in state ${this._state}`);
    }
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata(this.protocolName) }));
  }

  // ---------------------------------------------------------------- parked requests

  completeJoin(member: GroupMember, result: JoinResult): boolean {
    const cb = member.awaitingJoin;
    if (cb === null) return false;
    member.awaitingJoin = null;
    this.numAwaitingJoin--;
    cb(result);
    return true;
  }

  completeSync(member: GroupMember, result: SyncResult): boolean {
    const cb = member.awaitingSync;
    if (cb === null) return false;
    member.awaitingSync = null;
    cb(result);
    return true;
  }

  completeAllJoins(errorCode: number): void {
    for (const m of [...this.members.values()]) this.completeJoin(m, joinError(m.memberId, errorCode));
  }

  completeAllSyncs(errorCode: number): void {
    for (const m of [...this.members.values()]) this.completeSync(m, syncError(errorCode));
  }

  /** The JoinGroup answer for `member` in the current generation. */
  joinResponseFor(memberId: string, opts: { withMembers: boolean; leader?: string; skipAssignment?: boolean }): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      memberId,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: opts.leader ?? this.leaderId ?? '',
      skipAssignment: opts.skipAssignment ?? false,
      members: opts.withMembers ? this.currentMemberMetadata() : [],
    };
  }

  /** Every member's current assignment. */
  assignments(): Map<string, Buffer> {
    return new Map([...this.members.values()].map((m) => [m.memberId, m.assignment]));
  }
}
