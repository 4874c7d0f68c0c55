/**
 * Replica placement for new partitions, after Kafka's `StripedReplicaPlacer`.
 *
 * Racks are visited round-robin starting at an offset, one replica per rack, so each partition
 * spreads over as many racks as possible; within a rack brokers are also taken round-robin, so
 * leaders (first replicas) spread evenly over the brokers. Every partition advances the rack
 * offset by one, which gives the "striped" pattern:
 *
 *   racks A, B, C:  p0 = A0 B0 C0,  p1 = B1 C1 A1,  p2 = C2 A2 B2, ...
 *
 * Brokers without a rack form one rack of their own (no racks ⇒ plain round-robin over brokers).
 * Unfenced brokers are used first; fenced brokers only when a rack has no unfenced broker left,
 * and never as the leader. After as many partitions as there are unfenced brokers, the racks and
 * brokers are shuffled so consecutive rounds differ. Randomness is injected (`randomInt`).
 *
 * When partitions are added to an existing topic, the offsets continue after the rack and broker
 * of the existing partitions (Kafka's `tryGetPreviousRackOffset` / `tryGetPreviousBrokerOffset`).
 */

export interface UsableBroker {
  readonly id: number;
  readonly rack: string | null;
  readonly fenced: boolean;
}

/** A uniform integer in [0, bound). */
export type RandomInt = (bound: number) => number;

export type PlacementResult = { ok: true; assignments: number[][] } | { ok: false; message: string };

class BrokerList {
  readonly brokers: number[] = [];
  private index = 0;
  private offset = 0;
  private epoch = 0;

  initializeRandom(random: RandomInt): void {
    if (this.brokers.length > 0) {
      this.brokers.sort((a, b) => a - b);
      this.offset = random(this.brokers.length);
    }
  }

  initializeAfter(previousOffset: number): void {
    if (this.brokers.length > 0) {
      this.brokers.sort((a, b) => a - b);
      this.offset = (previousOffset + 1) % this.brokers.length;
    }
  }

  shuffle(random: RandomInt): void {
    shuffle(this.brokers, random);
  }

  /** The next broker of this iteration epoch, or -1 when all were returned. */
  next(epoch: number): number {
    const n = this.brokers.length;
    if (n === 0) return -1;
    if (this.epoch !== epoch) {
      this.epoch = epoch;
      this.index = 0;
      this.offset = (this.offset + 1) % n;
    }
    if (this.index >= n) return -1;
    const broker = this.brokers[(this.index + this.offset) % n]!;
    this.index++;
    return broker;
  }
}

class Rack {
  readonly fenced = new BrokerList();
  readonly unfenced = new BrokerList();

  nextUnfenced(epoch: number): number {
    return this.unfenced.next(epoch);
  }

  next(epoch: number): number {
    const r = this.unfenced.next(epoch);
    return r >= 0 ? r : this.fenced.next(epoch);
  }
}

/** Sort order of Kafka's `OptionalStringComparator`: no rack first, then by name. */
function compareRack(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function shuffle<T>(list: T[], random: RandomInt): void {
  for (let i = list.length - 1; i > 0; i--) {
    const j = random(i + 1);
    const t = list[i]!;
    list[i] = list[j]!;
    list[j] = t;
  }
}

class RackList {
  private readonly racks = new Map<string | null, Rack>();
  private readonly rackNames: (string | null)[] = [];
  readonly numTotalBrokers: number;
  readonly numUnfencedBrokers: number;
  private epoch = 0;
  private offset: number;

  constructor(
    private readonly random: RandomInt,
    brokers: readonly UsableBroker[],
    existing: readonly (readonly number[])[],
  ) {
    let total = 0;
    let unfenced = 0;
    const rackOf = new Map<number, string | null>();
    for (const b of brokers) {
      rackOf.set(b.id, b.rack);
      let rack = this.racks.get(b.rack);
      if (rack === undefined) {
        rack = new Rack();
        this.racks.set(b.rack, rack);
        this.rackNames.push(b.rack);
      }
      if (b.fenced) rack.fenced.brokers.push(b.id);
      else {
        rack.unfenced.brokers.push(b.id);
        unfenced++;
      }
      total++;
    }
    for (const [name, rack] of this.racks) {
      rack.fenced.initializeRandom(random);
      // Sort first so the previous broker's index refers to the sorted list.
      rack.unfenced.brokers.sort((a, b) => a - b);
      const prev = previousBrokerOffset(rackOf, existing, name, rack.unfenced.brokers);
      if (prev !== undefined) rack.unfenced.initializeAfter(prev);
      else rack.unfenced.initializeRandom(random);
    }
    this.rackNames.sort(compareRack);
    this.numTotalBrokers = total;
    this.numUnfencedBrokers = unfenced;
    const prevRack = previousRackOffset(rackOf, existing, this.rackNames);
    if (prevRack !== undefined) this.offset = (prevRack + 1) % this.rackNames.length;
    else this.offset = this.rackNames.length === 0 ? 0 : random(this.rackNames.length);
  }

  place(replicationFactor: number): number[] {
    if (this.epoch === this.numUnfencedBrokers && this.numUnfencedBrokers > 1) {
      this.shuffle();
      this.epoch = 0;
    }
    if (this.offset === this.rackNames.length) this.offset = 0;
    const brokers: number[] = [];
    let firstRackIndex = this.offset;
    for (;;) {
      const rack = this.racks.get(this.rackNames[firstRackIndex]!)!;
      const result = rack.nextUnfenced(this.epoch);
      if (result >= 0) {
        brokers.push(result);
        break;
      }
      firstRackIndex++;
      if (firstRackIndex === this.rackNames.length) firstRackIndex = 0;
    }
    let rackIndex = this.offset;
    for (let replica = 1; replica < replicationFactor; replica++) {
      let result = -1;
      do {
        if (rackIndex === firstRackIndex) {
          firstRackIndex = -1;
        } else {
          result = this.racks.get(this.rackNames[rackIndex]!)!.next(this.epoch);
        }
        rackIndex++;
        if (rackIndex === this.rackNames.length) rackIndex = 0;
      } while (result < 0);
      brokers.push(result);
    }
    this.epoch++;
    this.offset++;
    return brokers;
  }

  private shuffle(): void {
    shuffle(this.rackNames, this.random);
    for (const rack of this.racks.values()) {
      rack.fenced.shuffle(this.random);
      rack.unfenced.shuffle(this.random);
    }
  }
}

function previousRackOffset(
  rackOf: ReadonlyMap<number, string | null>,
  existing: readonly (readonly number[])[],
  rackNames: readonly (string | null)[],
): number | undefined {
  if (existing.length === 0) return undefined;
  const lastLeader = existing[existing.length - 1]![0];
  if (lastLeader === undefined || !rackOf.has(lastLeader)) return undefined;
  const i = rackNames.indexOf(rackOf.get(lastLeader)!);
  return i >= 0 ? i : undefined;
}

function previousBrokerOffset(
  rackOf: ReadonlyMap<number, string | null>,
  existing: readonly (readonly number[])[],
  rack: string | null,
  unfencedBrokers: readonly number[],
): number | undefined {
  for (let i = existing.length - 1; i >= 0; i--) {
    for (const brokerId of existing[i]!) {
      if (!rackOf.has(brokerId)) continue;
      if (rackOf.get(brokerId) === rack) {
        const index = unfencedBrokers.indexOf(brokerId);
        return index === -1 ? undefined : index;
      }
    }
  }
  return undefined;
}

/**
 * Replicas for `numPartitions` new partitions of `replicationFactor` replicas each.
 * `existing` holds the replica lists of the topic's current partitions in partition order.
 * Fails (with Kafka's message) when the factor is not positive, exceeds the usable brokers, or
 * every broker is fenced.
 */
export function placeReplicas(
  brokers: readonly UsableBroker[],
  numPartitions: number,
  replicationFactor: number,
  random: RandomInt,
  existing: readonly (readonly number[])[] = [],
): PlacementResult {
  const rackList = new RackList(random, brokers, existing);
  if (replicationFactor <= 0) {
    return {
      ok: false,
      message: `Invalid replication factor ${replicationFactor}: the replication factor must be positive.`,
    };
  }
  if (rackList.numUnfencedBrokers === 0) {
    return { ok: false, message: 'All brokers are currently fenced.' };
  }
  if (replicationFactor > rackList.numTotalBrokers) {
    return {
      ok: false,
      message:
        `The target replication factor of ${replicationFactor} cannot be reached because only ` +
        `${rackList.numTotalBrokers} broker(s) are registered.`,
    };
  }
  const assignments: number[][] = [];
  for (let p = 0; p < numPartitions; p++) assignments.push(rackList.place(replicationFactor));
  return { ok: true, assignments };
}

/**
 * A deterministic `RandomInt` seeded from a string (FNV-1a, then mulberry32), so placement
 * is reproducible when no randomness is injected, and still differs from topic to topic.
 */
export function seededRandomInt(seed: string): RandomInt {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  let state = h >>> 0;
  return (bound: number): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(u * bound);
  };
}
