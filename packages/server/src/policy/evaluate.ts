import type { CompiledStatement, CompiledResource } from './compile.js';
import { conditionsHold } from './condition.js';
import type { RequestContext } from './context.js';
import { resolveTemplate } from './variables.js';
import { arnGlob } from './wildcard.js';

/**
 * Whether one statement's Action, Resource and Condition match a request; the Principal is the
 * caller's business (authorize.ts), since which principal counts depends on the effect.
 */
export interface StatementRequest {
  /** `kms:Encrypt`: compared without regard to case. */
  readonly action: string;
  /** The key ARN (or `*` for operations on no key). */
  readonly resource: string;
  readonly context: RequestContext;
}

/** `true`/`false` for a resource pattern; undefined when a variable in it has no value. */
function resourceMatches(pattern: CompiledResource, resource: string, context: RequestContext): boolean | undefined {
  if (pattern.pattern !== undefined) return pattern.pattern.test(resource);
  const parts = resolveTemplate(pattern.template!, context);
  if (parts === undefined) return undefined;
  return arnGlob(parts, 'resource').test(resource);
}

function resourcesMatch(statement: CompiledStatement, request: StatementRequest): boolean {
  const { resources } = statement;
  let matched = resources.any;
  for (let i = 0; !matched && i < resources.patterns.length; i++) {
    const result = resourceMatches(resources.patterns[i]!, request.resource, request.context);
    // An unresolvable variable invalidates the statement, for NotResource as for Resource.
    if (result === undefined) return false;
    matched = result;
  }
  return resources.negated ? !matched : matched;
}

export function statementMatches(statement: CompiledStatement, request: StatementRequest): boolean {
  const { actions } = statement;
  const actionMatched = actions.pattern === undefined || actions.pattern.test(request.action);
  if (actionMatched === actions.negated) return false;
  if (!resourcesMatch(statement, request)) return false;
  return conditionsHold(statement.conditions, request.context, statement.effect);
}
