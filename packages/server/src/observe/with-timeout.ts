/**
 * `work`'s result, or `reason` once `ms` have passed without one. For the answers that must come
 * in a scraper's or a load balancer's time (/readyz, /metrics) from a store that may not answer:
 * the work goes on, its late result ignored.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, reason: string): Promise<T | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((done) => {
    timer = setTimeout(() => done(reason), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
