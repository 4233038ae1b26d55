import { useMemo, useState } from 'react';
import { listKeyRows, type KeyRow, type KeyRows } from '../api/keys.js';
import { useAsync } from '../components/async.js';
import { Done, ErrorNotice } from '../components/notice.js';
import { StateBadge } from '../components/state-badge.js';
import { formatTime, visibleText } from '../format.js';
import { Link } from '../router.js';
import { useSession } from '../session.js';
import { CreateKeyForm } from './create-key.js';

type SortColumn = 'alias' | 'KeyId' | 'Description' | 'KeySpec' | 'KeyUsage' | 'KeyState' | 'CreationDate';

const COLUMNS: { id: SortColumn; label: string }[] = [
  { id: 'alias', label: 'Aliases' },
  { id: 'KeyId', label: 'Key ID' },
  { id: 'Description', label: 'Description' },
  { id: 'KeySpec', label: 'Spec' },
  { id: 'KeyUsage', label: 'Usage' },
  { id: 'KeyState', label: 'State' },
  { id: 'CreationDate', label: 'Created' },
];

const sortValue = (row: KeyRow, column: SortColumn): string | number =>
  column === 'alias' ? row.Aliases[0] ?? '\uffff' : column === 'CreationDate' ? row.CreationDate : String(row[column] ?? '');

/** Keys: a filterable, sortable table of every key, and the create-key form. */
export function KeysPage() {
  const { api } = useSession();
  const keys = useAsync<KeyRows>((show) => listKeyRows(api, show), [api]);
  const [filter, setFilter] = useState('');
  const [stateFilter, setStateFilter] = useState('');
  const [sort, setSort] = useState<{ column: SortColumn; ascending: boolean }>({ column: 'CreationDate', ascending: false });
  const [creating, setCreating] = useState(false);
  const [done, setDone] = useState<string>();
  const [aliasFailure, setAliasFailure] = useState<unknown>();

  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const shown = (keys.data?.rows ?? []).filter((row) =>
      (!stateFilter || row.KeyState === stateFilter)
      && (!needle || [row.KeyId, row.Description ?? '', row.KeySpec, row.KeyUsage, ...row.Aliases].some((v) => v.toLowerCase().includes(needle))));
    return shown.sort((a, b) => {
      const x = sortValue(a, sort.column);
      const y = sortValue(b, sort.column);
      const order = x < y ? -1 : x > y ? 1 : 0;
      return sort.ascending ? order : -order;
    });
  }, [keys.data, filter, stateFilter, sort]);

  // The state filtered by stays a choice even when no key is in it any more (a key enabled
  // meanwhile): otherwise the list would show "Any" while the table still filters by it.
  const states = [...new Set([...(keys.data?.rows ?? []).map((k) => k.KeyState), stateFilter].filter(Boolean))].sort();

  return (
    <section aria-labelledby="keys-title">
      <div className="page-head">
        <h1 id="keys-title">Keys</h1>
        <button type="button" onClick={() => { setCreating(true); setDone(undefined); setAliasFailure(undefined); }} disabled={creating}>Create key</button>
      </div>
      <Done text={done} />
      <ErrorNotice error={aliasFailure} />
      {creating && (
        <CreateKeyForm
          onCancel={() => setCreating(false)}
          onCreated={(_keyId, note, failure) => { setCreating(false); setDone(note); setAliasFailure(failure); keys.reload(); }}
        />
      )}
      <div className="filters" role="search">
        <label htmlFor="key-filter">Filter</label>
        <input id="key-filter" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="id, alias, description, spec" />
        <label htmlFor="state-filter">State</label>
        <select id="state-filter" value={stateFilter} onChange={(e) => setStateFilter(e.target.value)}>
          <option value="">Any</option>
          {states.map((s) => <option key={s}>{s}</option>)}
        </select>
        <button type="button" className="secondary" onClick={keys.reload}>Refresh</button>
      </div>
      <ErrorNotice error={keys.error} />
      {keys.loading && keys.data?.pending !== undefined && (
        <p className="notice" role="status">Describing keys: {keys.data.rows.length - keys.data.pending} of {keys.data.rows.length} so far.</p>
      )}
      {keys.data?.aliasesProblem !== undefined && (
        <p className="notice" role="note">Aliases are not shown: {visibleText(keys.data.aliasesProblem)}</p>
      )}
      <table className="data" aria-busy={keys.loading}>
        <caption className="visually-hidden">Keys, sorted by {COLUMNS.find((c) => c.id === sort.column)!.label}</caption>
        <thead>
          <tr>
            {COLUMNS.map((column) => (
              <th key={column.id} scope="col"
                aria-sort={sort.column === column.id ? (sort.ascending ? 'ascending' : 'descending') : 'none'}>
                <button type="button" className="sort"
                  onClick={() => setSort((s) => ({ column: column.id, ascending: s.column === column.id ? !s.ascending : true }))}>
                  {column.label}<span aria-hidden="true">{sort.column === column.id ? (sort.ascending ? ' ▲' : ' ▼') : ''}</span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.KeyId} data-key-id={row.KeyId}>
              <td className="free">{visibleText(row.Aliases.join(', '))}</td>
              <td className="mono"><Link to={`/keys/${row.KeyId}`}>{row.KeyId}</Link></td>
              <td className="free">
                {row.Problem !== undefined
                  ? <span className="notice-inline" role="note">Not described: {row.Problem}</span>
                  : !row.KeyState ? <span className="hint">Loading…</span>
                  : <bdi className="clamp" title={visibleText(row.Description ?? '')}>{visibleText(row.Description ?? '')}</bdi>}
              </td>
              <td>{row.KeySpec}</td>
              <td>{row.KeyUsage}</td>
              <td>{row.KeyState ? <StateBadge state={row.KeyState} /> : '—'}</td>
              <td>{row.CreationDate ? formatTime(row.CreationDate) : ''}</td>
            </tr>
          ))}
          {!keys.loading && !keys.error && rows.length === 0 && (
            <tr><td colSpan={COLUMNS.length}>{keys.data?.rows.length ? 'No key matches the filter.' : 'No keys yet.'}</td></tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
