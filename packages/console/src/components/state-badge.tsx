/** A key state (AWS KMS KeyState) as a labelled badge; colour is never the only cue: the text is the state. */
export function StateBadge({ state }: { state: string }) {
  const tone = state === 'Enabled' ? 'good'
    : state === 'Disabled' ? 'muted'
      : state === 'PendingDeletion' ? 'bad'
        : 'warn';
  return <span className={`badge ${tone}`} data-state={state}>{state}</span>;
}

export function OutcomeBadge({ error }: { error: string | undefined }) {
  return error ? <span className="badge bad">{error}</span> : <span className="badge good">success</span>;
}
