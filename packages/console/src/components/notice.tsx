import { describeError } from '../api/client.js';

/** An API failure by its AWS error name and message, announced to screen readers. */
export function ErrorNotice({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return <p className="notice error" role="alert">{describeError(error)}</p>;
}

export function Done({ text }: { text: string | undefined }) {
  if (!text) return null;
  return <p className="notice ok" role="status">{text}</p>;
}
