// Hand-made benchmark results for the report tests (no process is started).
import type { ScenarioResult, SideResult } from '../../bench/lib/runner.js';

/** One side of a scenario with only a throughput (and whatever `extra` sets). */
export function brokerSide(mbps: number, extra: Partial<SideResult> = {}): SideResult {
  return { server: 'broker', mbps, recordsPerSec: 0, requestsPerSec: 0, cpuSeconds: null, cpuSecPerGB: null, peakRssMB: null, rssMB: null, ...extra };
}

/** A finished scenario named `name` (a floor when the name starts with "disk"). */
export function scenarioResult(name: string, x: Partial<ScenarioResult> = {}): ScenarioResult {
  return { name, title: name, group: name.startsWith('disk') ? 'floor' : 'produce', params: {}, status: 'ok', notes: [], seconds: 0, ...x };
}
