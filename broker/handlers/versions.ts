// Version ranges come from Apache Kafka 3.9's message definitions: every implemented API is
// advertised and served over its full range (the generated codecs make each version cheap).
import { API_SPECS } from '../../wire/generated/api.js';

export function specVersions(apiKey: number): { minVersion: number; maxVersion: number } {
  const spec = API_SPECS[apiKey];
  if (!spec) throw new Error(`no protocol spec for API key ${apiKey}`);
  return { minVersion: spec.minVersion, maxVersion: spec.maxVersion };
}
