/**
 * Pure quorum arithmetic: majorities, election outcomes and the majority-replicated offset.
 */

/** Votes needed out of `voters` (a strict majority). */
export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** An election among `voters` with the given granted and rejected votes. */
export function voteOutcome(voters: number, granted: number, rejected: number): VoteOutcome {
  const need = majority(voters);
  if (granted >= need) return 'won';
  if (voters - rejected < need) return 'lost';
  return 'pending';
}

/**
 * The largest offset that a majority of voters have reached, given each voter's end offset
 * (exclusive; `null` = unknown, counts as nothing). Kafka's LeaderState: sort descending and take
 * the entry at index `voters / 2`. Returns `null` when that voter's offset is unknown.
 */
export function majorityEndOffset(endOffsets: readonly (number | null)[]): number | null {
  if (endOffsets.length === 0) return null;
  const sorted = [...endOffsets].sort((a, b) => (b ?? -1) - (a ?? -1));
  return sorted[Math.floor(endOffsets.length / 2)] ?? null;
}
