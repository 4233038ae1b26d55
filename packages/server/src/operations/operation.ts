import type { RequestContext, Service } from '../context.js';

/** One KMS operation: its validated input in, its JSON response out, or a KmsError thrown. */
export type Operation = (service: Service, input: unknown, request: RequestContext) => Promise<object>;
