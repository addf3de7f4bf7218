/**
 * Reads counters from the issuer's Prometheus metrics (GATEHOUSE_METRICS_PORT): an exact count of what the issuer
 * answered between two readings, e.g. how many introspections an API asked for during a measured run.
 */

/**
 * The sum of every series of counter `name` whose labels include all of `labels` (other labels, such as the
 * status class, are added up).
 */
export async function readCounter(metricsUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const answer = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
  const text = await answer.text();
  if (answer.status !== 200) throw new Error(`${metricsUrl} answered ${answer.status}`);
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const braces = /^[^{ ]*(?:\{(.*)\})? (\S+)/.exec(line);
    if (!braces) continue;
    const series = (braces[1] ?? '').split(/,(?=[a-zA-Z_]+=")/);
    if (wanted.every((pair) => series.includes(pair))) total += Number(braces[2]);
  }
  return total;
}
