import { useEffect } from 'react';
import { ApiError } from '../api/client.js';
import type { RequestMetrics } from '../api/types.js';
import { MINUTES, timeline } from '../metrics.js';
import { useAsync } from '../components/async.js';
import { formatRate, LineChart } from '../components/line-chart.js';
import { ErrorNotice } from '../components/notice.js';
import { visibleText } from '../format.js';
import { useSession } from '../session.js';

const REFRESH_MS = 10_000;

/** Requests per second by operation and the error rate over the last hour, refreshed every 10 s. */
export function DashboardPage() {
  const { api } = useSession();
  const metrics = useAsync(() => api.admin<RequestMetrics>('GetRequestMetrics', { Minutes: MINUTES }), [api]);
  const { reload } = metrics;
  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [reload]);

  const missing = metrics.error instanceof ApiError && metrics.error.code === 'UnknownOperationException';
  const view = metrics.data ? timeline(metrics.data, Date.now() / 1000) : undefined;
  return (
    <section aria-labelledby="dashboard-title">
      <h1 id="dashboard-title">Dashboard</h1>
      {missing ? <p className="notice" role="status">No metrics yet: this server does not report request metrics.</p> : <ErrorNotice error={metrics.error} />}
      {view && (
        <>
          <ul className="tiles" aria-label="Last hour">
            <li><span className="tile-value">{view.totals.requests}</span> requests</li>
            <li><span className="tile-value">{view.totals.errors}</span> errors</li>
            <li><span className="tile-value">{view.totals.requests ? ((100 * view.totals.errors) / view.totals.requests).toFixed(1) : '0.0'}%</span> error rate</li>
            <li><span className="tile-value">{view.totals.throttled}</span> throttled</li>
          </ul>
          {view.totals.requests === 0 && <p className="notice" role="status">No metrics yet: no requests in the last hour.</p>}
          <div className="charts">
            <LineChart title="Requests per second by operation, last hour" series={view.perSecond} times={view.times} format={formatRate} />
            <LineChart title="Error rate, last hour" series={view.errorRate} times={view.times} format={(v) => `${formatRate(v)}%`} />
          </div>
          <details>
            <summary>Requests by operation (table)</summary>
            <table className="data">
              <thead><tr><th scope="col">Operation</th><th scope="col">Requests</th><th scope="col">Errors</th><th scope="col">Throttled</th></tr></thead>
              <tbody>
                {operationTotals(metrics.data!).map(([op, c]) => (
                  <tr key={op}><td>{visibleText(op)}</td><td>{c.Requests}</td><td>{c.Errors}</td><td>{c.Throttled}</td></tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </section>
  );
}

function operationTotals(metrics: RequestMetrics): [string, { Requests: number; Errors: number; Throttled: number }][] {
  const totals = new Map<string, { Requests: number; Errors: number; Throttled: number }>();
  for (const bucket of metrics.Buckets) {
    for (const [op, c] of Object.entries(bucket.Operations)) {
      const t = totals.get(op) ?? { Requests: 0, Errors: 0, Throttled: 0 };
      totals.set(op, { Requests: t.Requests + c.Requests, Errors: t.Errors + c.Errors, Throttled: t.Throttled + c.Throttled });
    }
  }
  return [...totals].sort((a, b) => b[1].Requests - a[1].Requests);
}
