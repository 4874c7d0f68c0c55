// Coordinators follow the leadership of their internal topic's partitions: a partition this
// broker leads is loaded (onElection with the leader epoch, the coordinator epoch), one it no
// longer leads is dropped (onResignation). Partitions already led when following starts count
// as elected.
import type { ReplicaManager } from '../replica-manager.js';

export function followLeadership(
  replicaManager: ReplicaManager,
  topic: string,
  onElection: (partition: number, leaderEpoch: number) => void,
  onResignation: (partition: number) => void,
): () => void {
  const unsubscribe = replicaManager.onLeadershipChange((ev) => {
    if (ev.topic !== topic) return;
    if (ev.isLeader) onElection(ev.partition, ev.leaderEpoch);
    else onResignation(ev.partition);
  });
  for (const p of replicaManager.allPartitions()) {
    if (p.topic === topic && p.isLeader) onElection(p.index, p.leaderEpoch);
  }
  return unsubscribe;
}
