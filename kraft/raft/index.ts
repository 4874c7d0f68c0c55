/**
 * The KRaft Raft core (pure state machine) and what a driver needs around it.
 */
export { RaftCore, DEFAULT_TIMING, type RaftConfig, type RaftCoreOptions, type ProposeResult } from './core.js';
export { IllegalStateError } from './errors.js';
export type * from './messages.js';
export { RESPONSE_TYPE, isRequest } from './messages.js';
export type { Ready, RaftStatus, RoleInfo, ReplicaStatus } from './ready.js';
export { TRANSITIONS, checkTransition, type StateKind } from './state.js';
export { MemoryRaftStorage, type RaftStorage, type LogChanges } from './storage.js';
export { seededRandom } from './rand.js';
export { majority, majorityEndOffset, voteOutcome } from './quorum.js';
export type * from './types.js';
export { entrySize, compareOffsetAndEpoch } from './types.js';
