// A seeded randomized simulation of a RaftCore cluster (after Kafka's RaftEventSimulationTest and
// etcd's rafttest): N voters (+ observers), a network that drops, duplicates, delays and
// reorders, partitions that come and go, crashes (losing whatever was not persisted, possibly a
// torn prefix of the last Ready) and restarts from the persisted hard state and log only, slow
// disks (a Ready persisted ticks later), application snapshots and graceful resignations, and
// client proposals to whoever leads. Invariants are checked after every single event; calm
// phases check liveness. Everything derives from one seed.
import { RaftCore, type RaftConfig } from '../../kraft/raft/core.js';
import { IllegalStateError } from '../../kraft/raft/errors.js';
import type { RaftMessage } from '../../kraft/raft/messages.js';
import { seededRandom } from '../../kraft/raft/rand.js';
import type { RaftStatus, Ready } from '../../kraft/raft/ready.js';
import { MemoryRaftStorage } from '../../kraft/raft/storage.js';
import type { Entry, HardState, RandomInt, Snapshot } from '../../kraft/raft/types.js';
import { fmtEntry, fmtMsg, fmtStatus } from './raft-env.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface SimOptions {
  readonly seed: number;
  /** Chaos + calm rounds. */
  readonly rounds?: number;
  readonly chaosTicks?: number;
  /** A stable leader must exist within this many ticks of a calm phase starting. */
  readonly electionDeadlineTicks?: number;
  /** A proposal must be applied everywhere within this many ticks once a stable leader exists. */
  readonly commitDeadlineTicks?: number;
  /** Keep a trace of the last events (for failure reports). */
  readonly traceSize?: number;
}

export interface SimResult {
  readonly seed: number;
  readonly failure: string | null;
  readonly trace: string[];
  readonly voters: number;
  readonly observers: number;
  readonly ticks: number;
  readonly steps: number;
  readonly committed: number;
  readonly maxEpoch: number;
  readonly crashes: number;
  readonly snapshotsInstalled: number;
  readonly truncations: number;
  readonly maxTicksToStableLeader: number;
}

class SimFailure extends Error {}

/** A committed entry as the invariants see it. */
interface Fact {
  readonly epoch: number;
  readonly key: string;
}

function keyOf(e: Entry): string {
  return e.kind === 'data' ? dec.decode(e.data) : `LC${e.leaderChange.leaderId}`;
}

/**
 * The application state machine: how many entries it applied and a hash chain over them. Its
 * snapshot is that pair plus the last epoch, so installing one proves the whole committed prefix.
 */
interface AppState {
  end: number;
  hash: number;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

interface Node {
  readonly id: number;
  readonly isVoter: boolean;
  readonly storage: MemoryRaftStorage;
  hardState: HardState | null;
  core: RaftCore | null;
  incarnation: number;
  /** A Ready taken from the core and not persisted yet, and the tick it may be persisted at. */
  pending: { rd: Ready; notBefore: number; wasLeader: boolean } | null;
  /** The state machine (from a snapshot, then applied entries). */
  applied: AppState;
  lastHw: number;
  /** Responses owed: `${to}#${correlationId}` → the requester's incarnation. */
  readonly owed: Map<string, number>;
}

interface Packet {
  readonly msg: RaftMessage;
  readonly deliverAt: number;
  /** Incarnation of the destination this packet is for (a restarted node has new connections). */
  readonly toInc: number;
}

class Rng {
  private readonly r: RandomInt;
  constructor(seed: number) {
    this.r = seededRandom(seed);
  }
  int(n: number): number {
    return this.r(n);
  }
  chance(p: number): boolean {
    return p > 0 && this.r(1_000_000) < p * 1_000_000;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.r(xs.length)]!;
  }
  float(lo: number, hi: number): number {
    return lo + (this.r(1_000_000) / 1_000_000) * (hi - lo);
  }
}

function mix(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

export class RaftSimulation {
  private readonly rng: Rng;
  private readonly nodes: Node[] = [];
  private readonly voterIds: number[] = [];
  private readonly cfg: Partial<RaftConfig>;
  private net: Packet[] = [];
  private readonly blocked = new Set<string>();
  private now = 0;

  // Fault knobs (per schedule; calm phases zero the destructive ones).
  private pDrop: number;
  private pDup: number;
  private pSlowDisk: number;
  private readonly pCrash: number;
  private readonly pRestart: number;
  private readonly pPartition: number;
  private readonly pHeal: number;
  private readonly pSnapshot: number;
  private readonly pResign: number;
  private pPropose: number;
  private maxDelay: number;
  private readonly chaosMaxDelay: number;
  private chaos = true;
  /** `${v}>${l}`: the last tick voter v was up with its link to node l open. */
  private readonly reachableAt = new Map<string, number>();
  /** When each node became leader of its current epoch. */
  private readonly leaderSince = new Map<number, { epoch: number; since: number }>();

  // Invariant state.
  private readonly facts: (Fact | undefined)[] = [];
  /** chain[o]: hash of the committed entries 0..o. */
  private readonly chain: number[] = [];
  private readonly leaderOf = new Map<number, number>();
  private readonly leaderChecked = new Set<string>();
  private readonly votes = new Map<string, number | null>();
  private readonly persistedEpoch = new Map<number, number>();
  private bestLeaderHw = { epoch: -1, hw: -1 };

  // Stats and trace.
  private steps = 0;
  private proposals = 0;
  private crashes = 0;
  private snapshotsInstalled = 0;
  private truncations = 0;
  private maxTicksToStableLeader = 0;
  private readonly trace: string[] = [];
  private readonly traceSize: number;

  constructor(private readonly opts: SimOptions) {
    const rng = (this.rng = new Rng(opts.seed));
    const voters = rng.chance(0.5) ? 3 : 5;
    const observers = rng.chance(0.7) ? 1 : 0;
    for (let i = 1; i <= voters; i++) this.voterIds.push(i);
    this.cfg = {
      electionTimeoutTicks: 10,
      fetchTimeoutTicks: 20,
      requestTimeoutTicks: 8,
      fetchMaxWaitTicks: 3,
      retryBackoffTicks: 1,
      // Small fetches and chunks: more round trips, more interleavings.
      fetchMaxBytes: rng.pick([1, 4, 8, 64, 1 << 20]),
      snapshotChunkBytes: rng.pick([16, 64, 256, 1 << 20]),
    };
    this.pDrop = rng.pick([0, 0.01, 0.05, 0.15]);
    this.pDup = rng.pick([0, 0.02, 0.1]);
    this.pSlowDisk = rng.pick([0, 0.05, 0.2]);
    this.maxDelay = this.chaosMaxDelay = rng.pick([0, 1, 3, 6]);
    this.pCrash = rng.pick([0, 0.005, 0.02]);
    this.pRestart = rng.pick([0.02, 0.1]);
    this.pPartition = rng.pick([0, 0.01, 0.03]);
    this.pHeal = rng.pick([0.02, 0.1]);
    this.pSnapshot = rng.pick([0, 0.02, 0.1]);
    this.pResign = rng.pick([0, 0.003, 0.01]);
    this.pPropose = rng.pick([0.1, 0.3, 0.8]);
    this.traceSize = opts.traceSize ?? 0;
    const ids = [...this.voterIds];
    for (let i = 0; i < observers; i++) ids.push(100 + i);
    for (const id of ids) {
      const n: Node = {
        id,
        isVoter: id < 100,
        storage: new MemoryRaftStorage(),
        hardState: null,
        core: null,
        incarnation: 0,
        pending: null,
        applied: { end: 0, hash: 0 },
        lastHw: 0,
        owed: new Map(),
      };
      this.nodes.push(n);
      this.startNode(n);
    }
  }

  run(): SimResult {
    let failure: string | null = null;
    try {
      const rounds = this.opts.rounds ?? 2;
      for (let r = 0; r < rounds; r++) {
        this.chaosPhase(this.opts.chaosTicks ?? 150);
        this.calmPhase(r);
      }
    } catch (err) {
      if (err instanceof SimFailure) failure = err.message;
      else if (err instanceof IllegalStateError) failure = `IllegalStateError: ${err.message}\n${err.stack ?? ''}`;
      else failure = `${(err as Error).stack ?? String(err)}`;
    }
    return {
      seed: this.opts.seed,
      failure,
      trace: failure === null ? [] : this.trace,
      voters: this.voterIds.length,
      observers: this.nodes.length - this.voterIds.length,
      ticks: this.now,
      steps: this.steps,
      committed: this.facts.length,
      maxEpoch: Math.max(0, ...this.leaderOf.keys()),
      crashes: this.crashes,
      snapshotsInstalled: this.snapshotsInstalled,
      truncations: this.truncations,
      maxTicksToStableLeader: this.maxTicksToStableLeader,
    };
  }

  // ------------------------------------------------------------ phases

  private chaosPhase(ticks: number): void {
    this.chaos = true;
    for (let i = 0; i < ticks; i++) this.tickOnce();
  }

  private calmPhase(round: number): void {
    this.chaos = false;
    this.blocked.clear();
    this.pDrop = 0;
    this.pDup = 0;
    this.pSlowDisk = 0;
    this.maxDelay = Math.min(this.maxDelay, 1);
    this.pPropose = Math.min(this.pPropose, 0.1);
    for (const n of this.nodes) if (n.core === null) this.restart(n);
    this.note('calm phase');
    const electionDeadline = this.opts.electionDeadlineTicks ?? 400;
    const commitDeadline = this.opts.commitDeadlineTicks ?? 200;
    // Like a client: propose to the stable leader; if the proposal is lost to a leader change
    // (its offset gets committed with another entry), propose again.
    for (let attempt = 0; ; attempt++) {
      const start = this.now;
      let leader: Node | null = null;
      while ((leader = this.stableLeader()) === null) {
        if (this.now - start > electionDeadline) {
          throw new SimFailure(`liveness: no stable leader ${electionDeadline} ticks after the network healed\n${this.dumpStatus()}`);
        }
        this.tickOnce();
      }
      this.maxTicksToStableLeader = Math.max(this.maxTicksToStableLeader, this.now - start);
      const marker = `m${round}.${attempt}`;
      const r = leader.core!.propose(enc.encode(marker));
      if (!r.ok) throw new SimFailure(`stable leader ${leader.id} refused a proposal`);
      this.note(`propose ${marker} at ${leader.id} -> ${r.offset}@${r.epoch}`);
      const commitStart = this.now;
      let lost = false;
      // apply() checks every applied entry against the committed record, so applied past the
      // offset with the marker committed there means the node applied the marker.
      while (!(this.facts[r.offset]?.key === marker && this.nodes.every((n) => n.applied.end > r.offset))) {
        if (this.proposalLost(r.offset, r.epoch, marker)) {
          lost = true;
          break;
        }
        if (this.now - commitStart > commitDeadline) {
          throw new SimFailure(`liveness: ${marker} (offset ${r.offset}) not applied everywhere within ${commitDeadline} ticks\n${this.dumpStatus()}`);
        }
        this.tickOnce();
      }
      if (!lost) return;
      if (attempt >= 5) throw new SimFailure(`liveness: 5 proposals in a row lost to leader changes in a calm phase\n${this.dumpStatus()}`);
    }
  }

  /** What a client learns: another entry committed there, or a newer leader without it. */
  private proposalLost(offset: number, epoch: number, key: string): boolean {
    const f = this.facts[offset];
    if (f !== undefined) return f.key !== key;
    return this.nodes.some((n) => {
      const s = n.core?.status();
      if (s === undefined || s.kind !== 'Leader' || s.epoch <= epoch) return false;
      return offset >= s.logEndOffset || offset < s.logStartOffset || keyOf(n.core!.entryAt(offset)) !== key;
    });
  }

  /** A leader with an established high watermark that every voter and observer follows. */
  private stableLeader(): Node | null {
    const statuses = this.nodes.map((n) => n.core!.status());
    const l = statuses.find((s) => s.kind === 'Leader' && s.leader !== null && s.leader.highWatermark !== null);
    if (l === undefined) return null;
    const ok = statuses.every((s) => s.nodeId === l.nodeId || (s.kind === 'Follower' && s.leaderId === l.nodeId && s.epoch === l.epoch));
    return ok ? this.nodes.find((n) => n.id === l.nodeId)! : null;
  }

  // ------------------------------------------------------------ one tick

  private tickOnce(): void {
    this.now++;
    const rng = this.rng;
    if (this.chaos) this.faults();
    if (rng.chance(this.pPropose)) {
      const leaders = this.nodes.filter((n) => n.core?.status().kind === 'Leader');
      if (leaders.length > 0) {
        const n = rng.pick(leaders);
        const key = `v${++this.proposals}`;
        const r = n.core!.propose(enc.encode(key));
        this.note(`propose ${key} at ${n.id}: ${r.ok ? `${r.offset}@${r.epoch}` : 'refused'}`);
        this.checkNode(n);
      }
    }
    for (const n of this.nodes) {
      if (n.core === null) continue;
      if (this.chaos && rng.chance(0.02)) continue; // clock drift: this node misses a tick
      n.core.tick();
      this.steps++;
      this.checkNode(n);
    }
    this.drain();
    this.checkCutOffLeaders();
  }

  /**
   * Check-quorum: a leader must resign once no majority of voters (itself included) has been
   * able to reach it within the last 1.5 x fetch timeout, plus the longest delivery delay of a
   * fetch sent just before, plus slack for the ticks its clock may have missed.
   */
  private checkCutOffLeaders(): void {
    const limit = Math.floor(this.cfg.fetchTimeoutTicks! * 1.5) + this.chaosMaxDelay + 10;
    for (const v of this.nodes) {
      if (!v.isVoter || v.core === null) continue;
      for (const l of this.nodes) if (l !== v && !this.blocked.has(`${v.id}>${l.id}`)) this.reachableAt.set(`${v.id}>${l.id}`, this.now);
    }
    for (const n of this.nodes) {
      const s = n.core?.status();
      if (s === undefined || s.kind !== 'Leader') {
        this.leaderSince.delete(n.id);
        continue;
      }
      const ls = this.leaderSince.get(n.id);
      if (ls === undefined || ls.epoch !== s.epoch) {
        this.leaderSince.set(n.id, { epoch: s.epoch, since: this.now });
        continue;
      }
      if (this.now - ls.since <= limit) continue;
      let reachable = 1;
      for (const v of this.voterIds) {
        if (v !== n.id && this.now - (this.reachableAt.get(`${v}>${n.id}`) ?? -Infinity) <= limit) reachable++;
      }
      if (reachable < Math.floor(this.voterIds.length / 2) + 1) {
        throw new SimFailure(`leader ${n.id} of epoch ${s.epoch} still leads at tick ${this.now} though no majority could reach it for ${limit} ticks`);
      }
    }
  }

  /** Deliver due packets and persist Readies, in random order, until nothing is left this tick. */
  private drain(): void {
    const rng = this.rng;
    for (let iter = 0; ; iter++) {
      if (iter > 20_000) throw new SimFailure(`livelock: more than 20000 events in tick ${this.now}`);
      for (const n of this.nodes) {
        if (n.core !== null && n.pending === null && n.core.hasReady()) {
          const slow = rng.chance(this.pSlowDisk) ? 1 + rng.int(3) : 0;
          n.pending = { rd: n.core.ready(), notBefore: this.now + slow, wasLeader: n.core.status().kind === 'Leader' };
        }
      }
      const persistable = this.nodes.filter((n) => n.pending !== null && n.pending.notBefore <= this.now);
      let due = 0;
      for (const p of this.net) if (p.deliverAt <= this.now) due++;
      if (persistable.length === 0 && due === 0) return;
      if (due > 0 && (persistable.length === 0 || rng.chance(0.5))) {
        let k = rng.int(due);
        const idx = this.net.findIndex((p) => p.deliverAt <= this.now && k-- === 0);
        const [p] = this.net.splice(idx, 1);
        this.deliver(p!);
      } else {
        this.persist(rng.pick(persistable));
      }
    }
  }

  private faults(): void {
    const rng = this.rng;
    const up = this.nodes.filter((n) => n.core !== null);
    const down = this.nodes.filter((n) => n.core === null);
    if (up.length > 0 && rng.chance(this.pCrash)) this.crash(rng.pick(up));
    if (down.length > 0 && rng.chance(this.pRestart)) this.restart(rng.pick(down));
    if (rng.chance(this.pPartition)) {
      const kind = rng.int(3);
      const ids = this.nodes.map((n) => n.id);
      if (kind === 0) {
        // Split into two sides.
        const side = new Set(ids.filter(() => rng.chance(0.5)));
        for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.blocked.add(`${a}>${b}`);
        this.note(`partition {${[...side].join(',')}} | rest`);
      } else if (kind === 1) {
        const a = rng.pick(ids);
        for (const b of ids) if (b !== a) this.blocked.add(`${a}>${b}`).add(`${b}>${a}`);
        this.note(`isolate ${a}`);
      } else {
        const a = rng.pick(ids);
        const b = rng.pick(ids);
        if (a !== b) this.blocked.add(`${a}>${b}`);
        this.note(`cut ${a}>${b}`);
      }
    }
    if (this.blocked.size > 0 && rng.chance(this.pHeal)) {
      this.blocked.clear();
      this.note('heal');
    }
    const live = this.nodes.filter((n) => n.core !== null);
    if (live.length > 0 && rng.chance(this.pSnapshot)) this.snapshot(rng.pick(live));
    if (rng.chance(this.pResign)) {
      const leaders = live.filter((n) => n.core!.status().kind === 'Leader');
      if (leaders.length > 0) {
        const n = rng.pick(leaders);
        n.core!.resign();
        this.note(`resign ${n.id}`);
        this.checkNode(n);
      }
    }
  }

  // ------------------------------------------------------------ nodes

  private startNode(n: Node): void {
    n.core = new RaftCore({
      config: { ...this.cfg, nodeId: n.id, voters: this.voterIds },
      storage: n.storage,
      hardState: n.hardState,
      rand: seededRandom(mix(this.opts.seed, n.id, n.incarnation)),
    });
    const snap = n.storage.snapshot();
    n.applied = snap === null ? { end: 0, hash: 0 } : this.decodeSnapshot(n, snap);
    n.lastHw = n.core.status().highWatermark;
    n.owed.clear();
    this.checkNode(n);
  }

  private crash(n: Node): void {
    this.crashes++;
    let torn = '';
    if (n.pending !== null) {
      // The disk may have taken any prefix of the Ready's writes; nothing of it was sent.
      const rd = n.pending.rd;
      const ops: (() => void)[] = [];
      if (rd.hardState !== null) {
        const hs = rd.hardState;
        ops.push(() => this.persistHardState(n, hs));
      }
      if (rd.snapshot !== null) {
        const s = rd.snapshot;
        ops.push(() => this.persistInstall(n, s));
      }
      if (rd.truncateTo !== null) {
        const t = rd.truncateTo;
        ops.push(() => this.persistTruncate(n, t));
      }
      for (const e of rd.entries) ops.push(() => this.persistAppend(n, e));
      if (rd.compaction !== null) {
        const c = rd.compaction;
        ops.push(() => n.storage.compact(c));
      }
      const cut = this.rng.int(ops.length + 1);
      for (const op of ops.slice(0, cut)) op();
      torn = ` (persisted ${cut}/${ops.length} writes of its last Ready)`;
      n.pending = null;
    }
    n.core = null;
    this.note(`crash ${n.id}${torn}`);
  }

  private restart(n: Node): void {
    n.incarnation++;
    this.startNode(n);
    this.note(`restart ${n.id}: ${fmtStatus(n.core!.status())}`);
  }

  private snapshot(n: Node): void {
    const core = n.core!;
    const at = n.applied.end;
    if (at === 0) return;
    const data = enc.encode(JSON.stringify({ ...n.applied, epoch: this.facts[at - 1]!.epoch }));
    const id = core.takeSnapshot(at, data);
    if (id !== null) this.note(`snapshot ${n.id} at ${id.endOffset}@${id.epoch}`);
    this.checkNode(n);
  }

  private decodeSnapshot(n: Node, s: Snapshot): AppState {
    const st = JSON.parse(dec.decode(s.data)) as AppState & { epoch: number };
    const end = s.id.endOffset;
    if (st.end !== end) throw new SimFailure(`node ${n.id}: snapshot ${end}@${s.id.epoch} holds state up to ${st.end}`);
    if (this.chain[end - 1] !== st.hash || this.facts[end - 1]!.epoch !== s.id.epoch || st.epoch !== s.id.epoch) {
      throw new SimFailure(`node ${n.id}: snapshot ${end}@${s.id.epoch} does not match the committed prefix`);
    }
    return { end: st.end, hash: st.hash };
  }

  // ------------------------------------------------------------ network

  private send(from: Node, m: RaftMessage): void {
    const to = this.nodes.find((n) => n.id === m.to);
    if (to === undefined) throw new SimFailure(`message to unknown node ${m.to}`);
    let toInc: number;
    if (m.body.type.endsWith('Request')) {
      toInc = to.incarnation;
    } else {
      const owed = from.owed.get(`${m.to}#${m.correlationId}`);
      if (owed === undefined) throw new SimFailure(`node ${from.id} answers a request it never got: ${fmtMsg(m)}`);
      toInc = owed;
    }
    const copies = this.rng.chance(this.pDup) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (this.rng.chance(this.pDrop)) continue;
      const delay = this.maxDelay === 0 ? 0 : this.rng.chance(0.6) ? 0 : 1 + this.rng.int(this.maxDelay);
      this.net.push({ msg: m, deliverAt: this.now + delay, toInc });
    }
  }

  private deliver(p: Packet): void {
    const m = p.msg;
    const to = this.nodes.find((n) => n.id === m.to)!;
    if (to.core === null || to.incarnation !== p.toInc || this.blocked.has(`${m.from}>${m.to}`)) return;
    if (m.body.type.endsWith('Request')) {
      const from = this.nodes.find((n) => n.id === m.from)!;
      to.owed.set(`${m.from}#${m.correlationId}`, from.incarnation);
      if (to.owed.size > 10_000) to.owed.clear();
    }
    if (this.traceSize > 0) this.note(`deliver ${fmtMsg(m)}`);
    this.steps++;
    to.core.step(m);
    this.checkNode(to);
  }

  // ------------------------------------------------------------ persistence and apply

  private persist(n: Node): void {
    const { rd, wasLeader } = n.pending!;
    n.pending = null;
    if (this.traceSize > 0) this.note(`persist ${n.id}: ${this.fmtReadyShort(rd)}`);
    if (rd.hardState !== null) this.persistHardState(n, rd.hardState);
    if (rd.snapshot !== null) this.persistInstall(n, rd.snapshot);
    if (rd.truncateTo !== null) this.persistTruncate(n, rd.truncateTo);
    for (const e of rd.entries) this.persistAppend(n, e);
    if (rd.compaction !== null) n.storage.compact(rd.compaction);
    for (const m of rd.messages) this.send(n, m);
    if (rd.snapshot !== null) {
      n.applied = this.decodeSnapshot(n, rd.snapshot);
      this.snapshotsInstalled++;
    }
    for (const e of rd.committed) this.apply(n, e);
    if (wasLeader && rd.committed.length > 0) this.checkMajority(n, rd.committed.at(-1)!);
    n.core!.advance();
    this.steps++;
    this.checkNode(n);
  }

  private persistHardState(n: Node, hs: HardState): void {
    const prev = this.persistedEpoch.get(n.id) ?? 0;
    if (hs.epoch < prev) throw new SimFailure(`node ${n.id} persisted epoch ${hs.epoch} after ${prev}`);
    this.persistedEpoch.set(n.id, hs.epoch);
    const k = `${n.id}@${hs.epoch}`;
    const voted = this.votes.get(k);
    if (voted !== undefined && voted !== null && voted !== hs.votedId) {
      throw new SimFailure(`node ${n.id} voted twice in epoch ${hs.epoch}: for ${voted} then ${hs.votedId}`);
    }
    if (hs.votedId !== null) this.votes.set(k, hs.votedId);
    n.hardState = hs;
  }

  /** A committed entry matching the global record must never leave a log (by truncation). */
  private checkNotCommittedLoss(n: Node, from: number, why: string): void {
    const end = n.storage.endOffset();
    for (let o = Math.max(from, n.storage.startOffset()); o < end; o++) {
      const f = this.facts[o];
      const e = n.storage.entryAt(o);
      if (f !== undefined && f.epoch === e.epoch && f.key === keyOf(e)) {
        throw new SimFailure(`node ${n.id}: ${why} drops committed entry ${fmtEntry(e)}`);
      }
    }
  }

  private persistInstall(n: Node, s: Snapshot): void {
    this.checkNotCommittedLoss(n, s.id.endOffset, `installing snapshot ${s.id.endOffset}@${s.id.epoch}`);
    n.storage.installSnapshot(s);
  }

  private persistTruncate(n: Node, to: number): void {
    this.truncations++;
    this.checkNotCommittedLoss(n, to, `truncation to ${to}`);
    n.storage.truncate(to);
  }

  private persistAppend(n: Node, e: Entry): void {
    // No check against the committed record here: a lagging follower may still take a divergent,
    // uncommitted entry from a stale leader at an offset committed elsewhere. It must truncate it
    // before it commits that offset (checked on apply) and may never drop a committed one.
    n.storage.append([e]);
  }

  private apply(n: Node, e: Entry): void {
    if (e.offset !== n.applied.end) throw new SimFailure(`node ${n.id} applies offset ${e.offset} but has applied ${n.applied.end}`);
    const fact = { epoch: e.epoch, key: keyOf(e) };
    this.learnCommitted(e.offset, fact, `node ${n.id}`);
    n.applied = { end: e.offset + 1, hash: this.chain[e.offset]! };
  }

  /** Records (or checks against) the global committed entry at `offset`. */
  private learnCommitted(offset: number, fact: Fact, who: string): void {
    const known = this.facts[offset];
    if (known !== undefined) {
      if (known.epoch !== fact.epoch || known.key !== fact.key) {
        throw new SimFailure(`${who} has ${fact.key}@${fact.epoch} committed at ${offset}, but ${known.key}@${known.epoch} was committed there`);
      }
      return;
    }
    if (offset !== this.facts.length) throw new SimFailure(`${who} commits ${offset} but the committed end is ${this.facts.length}`);
    this.facts[offset] = fact;
    this.chain[offset] = mix(offset === 0 ? 0 : this.chain[offset - 1]!, fact.epoch, hashString(fact.key));
  }

  /** The leader's newly committed entry is durably on a majority of voters. */
  private checkMajority(leader: Node, last: Entry): void {
    let have = 0;
    for (const n of this.nodes) {
      if (!n.isVoter) continue;
      const s = n.storage;
      if (s.startOffset() > last.offset) have++;
      else if (last.offset < s.endOffset()) {
        const e = s.entryAt(last.offset);
        if (e.epoch === last.epoch && keyOf(e) === keyOf(last)) have++;
      }
    }
    if (have < Math.floor(this.voterIds.length / 2) + 1) {
      throw new SimFailure(`leader ${leader.id} committed ${fmtEntry(last)} but only ${have} voters store it`);
    }
  }

  // ------------------------------------------------------------ per-event invariants

  private checkNode(n: Node): void {
    const core = n.core;
    if (core === null) return;
    const s = core.status();
    if (s.highWatermark < n.lastHw) throw new SimFailure(`node ${n.id}: high watermark went back from ${n.lastHw} to ${s.highWatermark}`);
    n.lastHw = s.highWatermark;
    if (s.kind !== 'Leader') return;
    const prev = this.leaderOf.get(s.epoch);
    if (prev !== undefined && prev !== n.id) throw new SimFailure(`two leaders in epoch ${s.epoch}: ${prev} and ${n.id}`);
    this.leaderOf.set(s.epoch, n.id);
    const lhw = s.leader!.highWatermark;
    if (lhw !== null && s.epoch >= this.bestLeaderHw.epoch) {
      if (lhw < this.bestLeaderHw.hw) {
        throw new SimFailure(`leader ${n.id} of epoch ${s.epoch} has high watermark ${lhw} below ${this.bestLeaderHw.hw} (epoch ${this.bestLeaderHw.epoch})`);
      }
      this.bestLeaderHw = { epoch: s.epoch, hw: lhw };
    }
    const key = `${n.id}@${s.epoch}`;
    if (!this.leaderChecked.has(key)) {
      this.leaderChecked.add(key);
      this.checkLeaderCompleteness(n, s);
    }
  }

  /** A new leader's log holds every entry committed so far. */
  private checkLeaderCompleteness(n: Node, s: RaftStatus): void {
    for (let o = s.logStartOffset; o < this.facts.length; o++) {
      const f = this.facts[o]!;
      if (o >= s.logEndOffset) throw new SimFailure(`leader ${n.id} of epoch ${s.epoch} lacks committed offset ${o} (log ends at ${s.logEndOffset})`);
      const e = n.core!.entryAt(o);
      if (e.epoch !== f.epoch || keyOf(e) !== f.key) {
        throw new SimFailure(`leader ${n.id} of epoch ${s.epoch} has ${fmtEntry(e)} where ${f.key}@${f.epoch} is committed`);
      }
    }
  }

  // ------------------------------------------------------------ reporting

  private note(s: string): void {
    if (this.traceSize === 0) return;
    this.trace.push(`[t${this.now}] ${s}`);
    if (this.trace.length > this.traceSize) this.trace.splice(0, this.trace.length - this.traceSize);
  }

  private fmtReadyShort(rd: Ready): string {
    const parts: string[] = [];
    if (rd.role !== null) parts.push(`role=${rd.role.kind}@${rd.role.epoch}`);
    if (rd.hardState !== null) parts.push(`hs=${rd.hardState.epoch}/${rd.hardState.votedId ?? '-'}/${rd.hardState.leaderId ?? '-'}`);
    if (rd.snapshot !== null) parts.push(`install=${rd.snapshot.id.endOffset}@${rd.snapshot.id.epoch}`);
    if (rd.truncateTo !== null) parts.push(`truncate=${rd.truncateTo}`);
    if (rd.entries.length > 0) parts.push(`append=${rd.entries.map(fmtEntry).join(',')}`);
    if (rd.compaction !== null) parts.push(`compact=${rd.compaction.id.endOffset}`);
    if (rd.highWatermark !== null) parts.push(`hw=${rd.highWatermark}`);
    if (rd.committed.length > 0) parts.push(`commit=${rd.committed[0]!.offset}..${rd.committed.at(-1)!.offset}`);
    parts.push(`msgs=${rd.messages.length}`);
    return parts.join(' ');
  }

  private dumpStatus(): string {
    return this.nodes.map((n) => (n.core === null ? `${n.id}: down` : fmtStatus(n.core.status()))).join('\n');
  }
}

export function runSchedule(opts: SimOptions): SimResult {
  return new RaftSimulation(opts).run();
}
