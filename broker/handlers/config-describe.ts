// How configs are described (DescribeConfigs, CreateTopics v5+): value, source, synonyms, type.
import type { BrokerConfig, ConfigType } from '../config.js';
import { BROKER_CONFIG_DEFS } from '../config.js';
import { effectiveTopicConfigs, TOPIC_CONFIG_BY_NAME } from '../topic-config.js';

/** DescribeConfigs config sources. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** DescribeConfigs v3+ config types. */
const CONFIG_TYPE: Record<ConfigType, number> = { boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7 };

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: Array<{ name: string; value: string | null; source: number }>;
  configType: number;
  documentation: string | null;
}

export function describeTopicConfigs(overrides: ReadonlyMap<string, string>, broker: BrokerConfig, keys: readonly string[] | null, includeSynonyms: boolean): DescribedConfig[] {
  const wanted = keys && keys.length > 0 ? new Set(keys) : null;
  return effectiveTopicConfigs(overrides, broker)
    .filter((c) => !wanted || wanted.has(c.name))
    .map((c) => {
      const source = c.source === 'TOPIC' ? ConfigSource.TOPIC_CONFIG : c.source === 'STATIC_BROKER' ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG;
      const synonyms: DescribedConfig['synonyms'] = [];
      if (includeSynonyms) {
        if (c.source === 'TOPIC') synonyms.push({ name: c.name, value: c.value, source: ConfigSource.TOPIC_CONFIG });
        const syn = TOPIC_CONFIG_BY_NAME.get(c.name)?.brokerSynonym;
        if (syn && broker.isExplicit(syn)) synonyms.push({ name: syn, value: broker.get(syn), source: ConfigSource.STATIC_BROKER_CONFIG });
        if (syn) synonyms.push({ name: syn, value: c.def.default, source: ConfigSource.DEFAULT_CONFIG });
      }
      return {
        name: c.name,
        value: c.value,
        readOnly: false,
        isDefault: c.source !== 'TOPIC',
        configSource: source,
        isSensitive: false,
        synonyms,
        configType: CONFIG_TYPE[c.def.type],
        documentation: null,
      };
    });
}

export function describeBrokerConfigs(broker: BrokerConfig, dynamic: ReadonlyMap<string, string>, keys: readonly string[] | null): DescribedConfig[] {
  const wanted = keys && keys.length > 0 ? new Set(keys) : null;
  return BROKER_CONFIG_DEFS.filter((d) => !wanted || wanted.has(d.name)).map((d) => {
    const dyn = dynamic.get(d.name);
    const explicit = broker.isExplicit(d.name);
    const value = dyn ?? broker.get(d.name);
    const configSource = dyn !== undefined ? ConfigSource.DYNAMIC_BROKER_CONFIG : explicit ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG;
    return {
      name: d.name,
      value,
      readOnly: d.readOnly ?? false,
      isDefault: configSource === ConfigSource.DEFAULT_CONFIG,
      configSource,
      isSensitive: d.sensitive ?? false,
      synonyms: [],
      configType: CONFIG_TYPE[d.type],
      documentation: null,
    };
  });
}
