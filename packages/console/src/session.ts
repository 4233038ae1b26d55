import { createContext, useContext } from 'react';
import type { Api } from './api/client.js';

/**
 * The signed-in session: the API client (whose signer holds the credentials) and who they belong
 * to. It ends with `api.dispose()`, which the app calls on sign-out and on the idle sign-out.
 */
export interface Session {
  readonly api: Api;
  readonly arn: string;
  readonly account: string;
  /** The access key signed in with (not secret): the console warns before it is switched off or deleted. */
  readonly accessKeyId: string;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new TypeError('useSession outside a signed-in console');
  return session;
}
