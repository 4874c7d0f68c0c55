// The interaction environment behind test/kraft/testdata/*.txt: a few RaftCore nodes, an
// explicit message queue the script delivers, persistence the script triggers, and printers for
// every message and Ready. Commands:
//
//   add-nodes voters=1,2,3 [observers=9] [jitter=0,3,6] [election=10 fetch=20 request=8 maxwait=3 maxbytes=N chunk=N]
//       jitter: what each node's PRNG returns (mod bound), so node i's election timeout is
//       election + jitter[i]; `0/4` returns 0 first, then 4 forever; default 0.
//   tick <ids|all> [n]            n ticks (default 1); prints role changes
//   process-ready <ids|all>       ready → persist → queue messages → apply → advance; prints it
//   deliver-msgs [ids|all] [drop] [type=FetchRequest] [from=ids]   delivers (or drops) queued messages to ids
//   stabilize [ids|all]           process-ready and deliver until nothing moves
//   propose <id> <text>           status <ids|all>     log <id>
//   partition <ids>               the network is now split: those nodes | the rest; `heal` restores
//   crash <id> / restart <id>     crash loses the unprocessed Ready and queued messages to it
//   resign <id>                   snapshot <id> (takeSnapshot at the applied offset)
//   send <from> <to> <Type> k=v...  steps a hand-made message into <to> and shows its Ready
import { IllegalStateError } from '../../kraft/raft/errors.js';
import { RaftCore, type RaftConfig } from '../../kraft/raft/core.js';
import type { MessageBody, RaftMessage } from '../../kraft/raft/messages.js';
import type { RaftStatus, Ready } from '../../kraft/raft/ready.js';
import { MemoryRaftStorage } from '../../kraft/raft/storage.js';
import type { Entry, HardState, Snapshot } from '../../kraft/raft/types.js';
import { ErrorCode } from '../../wire/errors.js';
import type { Directive } from './raft-datadriven.js';

const text = new TextDecoder();
const enc = new TextEncoder();

export function fmtId(id: number | null): string {
  return id === null || id < 0 ? '-' : String(id);
}

export function fmtEntry(e: Entry): string {
  if (e.kind === 'leader-change') {
    const g = e.leaderChange.grantingVoters.map((v) => v.voterId).join(',');
    return `${e.offset}@${e.epoch}:LC(leader=${e.leaderChange.leaderId} granting=${g})`;
  }
  return `${e.offset}@${e.epoch}:${JSON.stringify(text.decode(e.data))}`;
}

function fmtErr(code: number): string {
  return code === 0 ? '' : ` error=${ErrorCode[code] ?? code}`;
}

export function fmtBody(b: MessageBody): string {
  switch (b.type) {
    case 'VoteRequest':
      return `${b.preVote ? 'PreVote' : 'Vote'}Request epoch=${b.candidateEpoch} candidate=${b.candidateId} last=${b.lastOffset}@${b.lastOffsetEpoch}`;
    case 'VoteResponse':
      return `VoteResponse ${b.voteGranted ? 'granted' : 'rejected'} epoch=${b.leaderEpoch} leader=${fmtId(b.leaderId)}${fmtErr(b.errorCode)}`;
    case 'BeginQuorumEpochRequest':
      return `BeginQuorumEpochRequest epoch=${b.leaderEpoch} leader=${b.leaderId}`;
    case 'EndQuorumEpochRequest':
      return `EndQuorumEpochRequest epoch=${b.leaderEpoch} leader=${b.leaderId} successors=${b.preferredSuccessors.join(',') || '-'}`;
    case 'BeginQuorumEpochResponse':
    case 'EndQuorumEpochResponse':
      return `${b.type} epoch=${b.leaderEpoch} leader=${fmtId(b.leaderId)}${fmtErr(b.errorCode)}`;
    case 'FetchRequest':
      return `FetchRequest replica=${b.replicaId} epoch=${b.currentLeaderEpoch} offset=${b.fetchOffset} lastEpoch=${b.lastFetchedEpoch}`;
    case 'FetchResponse': {
      let s = `FetchResponse epoch=${b.currentLeader.leaderEpoch} leader=${fmtId(b.currentLeader.leaderId)}${fmtErr(b.errorCode)}`;
      if (b.errorCode === 0) s += ` hw=${b.highWatermark}`;
      if (b.divergingEpoch !== null) s += ` diverging=${b.divergingEpoch.endOffset}@${b.divergingEpoch.epoch}`;
      if (b.snapshotId !== null) s += ` snapshot=${b.snapshotId.endOffset}@${b.snapshotId.epoch}`;
      if (b.entries.length > 0) s += ` entries=[${b.entries.map(fmtEntry).join(' ')}]`;
      return s;
    }
    case 'FetchSnapshotRequest':
      return `FetchSnapshotRequest replica=${b.replicaId} epoch=${b.currentLeaderEpoch} snapshot=${b.snapshotId.endOffset}@${b.snapshotId.epoch} position=${b.position}`;
    case 'FetchSnapshotResponse': {
      let s = `FetchSnapshotResponse epoch=${b.currentLeader.leaderEpoch} leader=${fmtId(b.currentLeader.leaderId)}${fmtErr(b.errorCode)}`;
      if (b.errorCode === 0) s += ` snapshot=${b.snapshotId.endOffset}@${b.snapshotId.epoch} position=${b.position} size=${b.size} chunk=${b.chunk.length}`;
      return s;
    }
  }
}

export function fmtMsg(m: RaftMessage): string {
  return `${m.from}->${m.to} #${m.correlationId} ${fmtBody(m.body)}`;
}

export function fmtStatus(s: RaftStatus): string {
  let out = `${s.nodeId}: ${s.kind} epoch=${s.epoch} leader=${fmtId(s.leaderId)} voted=${fmtId(s.votedId)} hw=${s.highWatermark} log=[${s.logStartOffset},${s.logEndOffset}) lastEpoch=${s.lastEpoch}`;
  if (s.leader !== null) {
    const r = s.leader.voters.map((v) => `${v.id}:${v.endOffset ?? '-'}`).join(' ');
    out += ` | epochStart=${s.leader.epochStartOffset} leaderHw=${s.leader.highWatermark ?? '-'} replicas=${r}`;
    if (s.leader.observers.length > 0) out += ` observers=${s.leader.observers.map((v) => `${v.id}:${v.endOffset ?? '-'}`).join(' ')}`;
  }
  return out;
}

function fmtSnapshot(s: Snapshot): string {
  return `${s.id.endOffset}@${s.id.epoch} ${JSON.stringify(text.decode(s.data))}`;
}

export function fmtReady(id: number, rd: Ready): string[] {
  const out = [`> ${id} ready`];
  if (rd.role !== null) out.push(`  role: ${rd.role.kind} epoch=${rd.role.epoch} leader=${fmtId(rd.role.leaderId)}`);
  if (rd.hardState !== null) out.push(`  hardState: epoch=${rd.hardState.epoch} voted=${fmtId(rd.hardState.votedId)} leader=${fmtId(rd.hardState.leaderId)}`);
  if (rd.snapshot !== null) out.push(`  snapshot: ${fmtSnapshot(rd.snapshot)}`);
  if (rd.truncateTo !== null) out.push(`  truncateTo: ${rd.truncateTo}`);
  if (rd.entries.length > 0) out.push(`  entries: ${rd.entries.map(fmtEntry).join(' ')}`);
  if (rd.compaction !== null) out.push(`  compaction: ${fmtSnapshot(rd.compaction)}`);
  if (rd.highWatermark !== null) out.push(`  hw: ${rd.highWatermark}`);
  if (rd.committed.length > 0) out.push(`  committed: ${rd.committed.map(fmtEntry).join(' ')}`);
  for (const m of rd.messages) out.push(`  send: ${fmtMsg(m)}`);
  return out;
}

interface EnvNode {
  readonly id: number;
  core: RaftCore | null;
  readonly storage: MemoryRaftStorage;
  hardState: HardState | null;
  /** The application state: applied data entries (control entries skipped). */
  applied: string[];
  /** The values its PRNG returns, in order (the last one repeats). */
  jitter: number[];
  draws: number;
}

function ids(spec: string | undefined): number[] {
  if (spec === undefined || spec === '') return [];
  return spec.split(',').map((x) => Number(x));
}

export class RaftInteractionEnv {
  private readonly nodes = new Map<number, EnvNode>();
  private queue: RaftMessage[] = [];
  private readonly cut = new Set<string>();
  private voters: number[] = [];
  private config: Partial<RaftConfig> = {};

  handle(d: Directive): string {
    switch (d.command) {
      case 'add-nodes':
        return this.addNodes(d);
      case 'tick':
        return this.tick(this.select(d.positional[0]), Number(d.positional[1] ?? 1));
      case 'process-ready':
        return this.processReady(this.select(d.positional[0])).join('\n');
      case 'deliver-msgs':
        return this.deliver(this.select(d.positional[0]), d.positional.includes('drop'), d.args.get('type'), d.args.get('from')).join('\n');
      case 'stabilize':
        return this.stabilize(this.select(d.positional[0])).join('\n');
      case 'propose': {
        const r = this.core(Number(d.positional[0])).propose(enc.encode(d.positional.slice(1).join(' ')));
        return r.ok ? `ok offset=${r.offset} epoch=${r.epoch}` : `rejected error=${ErrorCode[r.errorCode]} leader=${fmtId(r.leaderId)} epoch=${r.epoch}`;
      }
      case 'status':
        return this.select(d.positional[0])
          .map((id) => {
            const n = this.nodes.get(id)!;
            return n.core === null ? `${id}: down` : fmtStatus(n.core.status());
          })
          .join('\n');
      case 'log':
        return this.fmtLog(Number(d.positional[0]));
      case 'partition': {
        const group = new Set(ids(d.positional[0]));
        this.cut.clear();
        for (const a of this.nodes.keys()) for (const b of this.nodes.keys()) if (group.has(a) !== group.has(b)) this.cut.add(`${a}-${b}`);
        return 'ok';
      }
      case 'heal':
        this.cut.clear();
        return 'ok';
      case 'crash': {
        const n = this.nodes.get(Number(d.positional[0]))!;
        n.core = null;
        this.queue = this.queue.filter((m) => m.to !== n.id);
        return 'ok';
      }
      case 'restart': {
        const n = this.nodes.get(Number(d.positional[0]))!;
        n.core = this.newCore(n);
        n.applied = n.storage.snapshot() === null ? [] : (JSON.parse(text.decode(n.storage.snapshot()!.data)) as string[]);
        return fmtStatus(n.core.status());
      }
      case 'resign':
        return this.core(Number(d.positional[0])).resign() ? 'ok' : 'not leader';
      case 'snapshot': {
        const n = this.nodes.get(Number(d.positional[0]))!;
        const core = this.core(n.id);
        const at = core.status().appliedOffset;
        const id = core.takeSnapshot(at, enc.encode(JSON.stringify(n.applied)));
        return id === null ? 'nothing to snapshot' : `snapshot ${id.endOffset}@${id.epoch}`;
      }
      case 'send':
        return this.send(d);
      case 'applied':
        return this.select(d.positional[0])
          .map((id) => `${id}: ${this.nodes.get(id)!.applied.join(' ') || '-'}`)
          .join('\n');
      default:
        throw new Error(`unknown command ${d.command}`);
    }
  }

  private addNodes(d: Directive): string {
    this.voters = ids(d.args.get('voters'));
    const observers = ids(d.args.get('observers'));
    const jitter = (d.args.get('jitter') ?? '').split(',').map((j) => (j === '' ? [0] : j.split('/').map(Number)));
    const num = (k: string): number | undefined => (d.args.has(k) ? Number(d.args.get(k)) : undefined);
    const cfg: Partial<RaftConfig> = {};
    const set = <K extends keyof RaftConfig>(k: K, v: RaftConfig[K] | undefined) => {
      if (v !== undefined) (cfg as Record<string, unknown>)[k] = v;
    };
    set('electionTimeoutTicks', num('election'));
    set('fetchTimeoutTicks', num('fetch'));
    set('requestTimeoutTicks', num('request'));
    set('fetchMaxWaitTicks', num('maxwait'));
    set('fetchMaxBytes', num('maxbytes'));
    set('snapshotChunkBytes', num('chunk'));
    this.config = cfg;
    const all = [...this.voters, ...observers];
    all.forEach((id, i) => {
      const n: EnvNode = { id, core: null, storage: new MemoryRaftStorage(), hardState: null, applied: [], jitter: jitter[i] ?? [0], draws: 0 };
      this.nodes.set(id, n);
      n.core = this.newCore(n);
    });
    return all.map((id) => fmtStatus(this.core(id).status())).join('\n');
  }

  private newCore(n: EnvNode): RaftCore {
    return new RaftCore({
      config: { ...this.config, nodeId: n.id, voters: this.voters },
      storage: n.storage,
      hardState: n.hardState,
      rand: (bound) => n.jitter[Math.min(n.draws++, n.jitter.length - 1)]! % bound,
    });
  }

  private core(id: number): RaftCore {
    const c = this.nodes.get(id)?.core;
    if (c === undefined || c === null) throw new Error(`node ${id} is down or unknown`);
    return c;
  }

  private select(spec: string | undefined): number[] {
    if (spec === undefined || spec === 'all') return [...this.nodes.keys()];
    return ids(spec);
  }

  private tick(which: number[], n: number): string {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      for (const id of which) {
        const core = this.nodes.get(id)?.core;
        if (core === null || core === undefined) continue;
        const before = core.status();
        core.tick();
        const after = core.status();
        if (before.kind !== after.kind || before.epoch !== after.epoch || before.leaderId !== after.leaderId) {
          out.push(`${id}: ${before.kind}(${before.epoch}) -> ${after.kind}(${after.epoch}) leader=${fmtId(after.leaderId)} at tick ${after.tick}`);
        }
      }
    }
    return out.join('\n');
  }

  private processReady(which: number[]): string[] {
    const out: string[] = [];
    for (const id of which) {
      const n = this.nodes.get(id)!;
      const core = n.core;
      if (core === null || !core.hasReady()) continue;
      const rd = core.ready();
      out.push(...fmtReady(id, rd));
      if (rd.hardState !== null) n.hardState = rd.hardState;
      n.storage.persist(rd);
      this.queue.push(...rd.messages);
      if (rd.snapshot !== null) n.applied = JSON.parse(text.decode(rd.snapshot.data)) as string[];
      for (const e of rd.committed) if (e.kind === 'data') n.applied.push(text.decode(e.data));
      core.advance();
    }
    return out;
  }

  private deliver(which: number[], drop: boolean, type: string | undefined, from?: string): string[] {
    const out: string[] = [];
    const targets = new Set(which);
    const senders = from === undefined ? null : new Set(ids(from));
    const take = this.queue.filter(
      (m) => targets.has(m.to) && (type === undefined || m.body.type === type) && (senders === null || senders.has(m.from)),
    );
    this.queue = this.queue.filter((m) => !take.includes(m));
    for (const m of take) {
      const core = this.nodes.get(m.to)?.core;
      if (drop || core === null || core === undefined || this.cut.has(`${m.from}-${m.to}`)) {
        out.push(`dropped ${fmtMsg(m)}`);
        continue;
      }
      out.push(fmtMsg(m));
      try {
        core.step(m);
      } catch (err) {
        if (err instanceof IllegalStateError) out.push(`  IllegalStateError: ${err.message}`);
        else throw err;
      }
    }
    return out;
  }

  private stabilize(which: number[]): string[] {
    const out: string[] = [];
    for (let round = 0; round < 1000; round++) {
      const ready = this.processReady(which);
      const delivered = this.deliver(which, false, undefined);
      if (ready.length === 0 && delivered.length === 0) return out;
      out.push(...ready, ...delivered);
    }
    throw new Error('stabilize did not converge');
  }

  private fmtLog(id: number): string {
    const n = this.nodes.get(id)!;
    const snap = n.storage.snapshot();
    const lines = [`snapshot: ${snap === null ? '-' : fmtSnapshot(snap)}`];
    lines.push(`entries: ${n.storage.all().map(fmtEntry).join(' ') || '-'}`);
    lines.push(`hardState: ${n.hardState === null ? '-' : `epoch=${n.hardState.epoch} voted=${fmtId(n.hardState.votedId)} leader=${fmtId(n.hardState.leaderId)}`}`);
    return lines.join('\n');
  }

  /** `send <from> <to> <Type> k=v ...`: builds the body from defaults plus the given fields. */
  private send(d: Directive): string {
    const [fromS, toS, type] = d.positional;
    const from = Number(fromS);
    const to = Number(toS);
    const a = (k: string, dflt: number): number => (d.args.has(k) ? Number(d.args.get(k)) : dflt);
    let body: MessageBody;
    switch (type) {
      case 'VoteRequest':
        body = {
          type,
          candidateEpoch: a('epoch', 0),
          candidateId: a('candidate', from),
          lastOffsetEpoch: a('lastEpoch', 0),
          lastOffset: a('last', 0),
          preVote: d.args.get('preVote') === 'true',
        };
        break;
      case 'BeginQuorumEpochRequest':
        body = { type, leaderId: a('leader', from), leaderEpoch: a('epoch', 0) };
        break;
      case 'EndQuorumEpochRequest':
        body = { type, leaderId: a('leader', from), leaderEpoch: a('epoch', 0), preferredSuccessors: ids(d.args.get('successors')) };
        break;
      case 'FetchRequest':
        body = {
          type,
          replicaId: a('replica', from),
          maxWaitTicks: a('maxWait', 0),
          maxBytes: a('maxBytes', 1 << 20),
          currentLeaderEpoch: a('epoch', 0),
          fetchOffset: a('offset', 0),
          lastFetchedEpoch: a('lastEpoch', 0),
          logStartOffset: 0,
        };
        break;
      case 'FetchSnapshotRequest':
        body = {
          type,
          replicaId: a('replica', from),
          maxBytes: a('maxBytes', 1 << 20),
          currentLeaderEpoch: a('epoch', 0),
          snapshotId: { endOffset: a('end', 0), epoch: a('snapshotEpoch', 0) },
          position: a('position', 0),
        };
        break;
      default:
        throw new Error(`send: unsupported type ${type}`);
    }
    const core = this.core(to);
    const m: RaftMessage = { from, to, correlationId: a('corr', 1000), body };
    const out = [fmtMsg(m)];
    core.step(m);
    // Show the node's Ready right away: the answer, and whatever else the message changed.
    out.push(...this.processReady([to]));
    // Answers to a hand-made sender go nowhere.
    this.queue = this.queue.filter((q) => this.nodes.has(q.to) && !(q.to === from && q.correlationId === m.correlationId));
    return out.join('\n');
  }
}
