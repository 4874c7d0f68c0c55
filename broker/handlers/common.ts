// Small helpers shared by several handlers.
import type { MetadataImage } from '../../kraft/image.js';

export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state']);

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}

const LEGAL_TOPIC_CHARS = /^[a-zA-Z0-9._-]+$/;
export const MAX_TOPIC_NAME_LENGTH = 249;

/** Kafka's topic name rule: 1–249 of [a-zA-Z0-9._-], not "." or "..". */
export function validTopicName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_TOPIC_NAME_LENGTH && name !== '.' && name !== '..' && LEGAL_TOPIC_CHARS.test(name);
}

export interface AdvertisedBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/**
 * Unfenced brokers with their endpoint on `listenerName` (clients are answered with addresses
 * of the listener they used, as Kafka does); brokers without that listener are left out.
 */
export function advertisedBrokers(image: MetadataImage, listenerName: string): AdvertisedBroker[] {
  const out: AdvertisedBroker[] = [];
  for (const b of image.brokers.values()) {
    if (b.fenced) continue;
    const l = b.listeners.find((x) => x.name === listenerName) ?? b.listeners[0];
    if (!l) continue;
    out.push({ nodeId: b.id, host: l.host, port: l.port, rack: b.rack ?? null });
  }
  return out.sort((a, b) => a.nodeId - b.nodeId);
}

/** The partition's leader and leader epoch as the image has them ({-1, -1} when unknown). */
export function leaderHint(image: MetadataImage, topic: string, partition: number): { leaderId: number; leaderEpoch: number } {
  const reg = image.topicByName(topic)?.partitions.get(partition);
  return reg === undefined ? { leaderId: -1, leaderEpoch: -1 } : { leaderId: reg.leader, leaderEpoch: reg.leaderEpoch };
}

/** The endpoints on `listenerName` of the brokers `ids` (the node_endpoints of KIP-951 answers). */
export function nodeEndpointsOf(image: MetadataImage, listenerName: string, ids: Iterable<number>): AdvertisedBroker[] {
  const out: AdvertisedBroker[] = [];
  for (const id of ids) {
    const b = image.broker(id);
    const ep = b?.listeners.find((l) => l.name === listenerName) ?? b?.listeners[0];
    if (b && ep) out.push({ nodeId: id, host: ep.host, port: ep.port, rack: b.rack ?? null });
  }
  return out;
}
