import { InvalidArnException, NotFoundException, ValidationException } from '../errors.js';
import type { Service } from '../context.js';
import { isPossibleAliasName } from './alias-name.js';
import { aliasArn, keyArn, parseArn } from './arn.js';
import { effectiveKey } from './import.js';
import type { KeyRecord } from './key-record.js';

export const KEY_ID = /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$/;

/** Which identifier forms an operation accepts: AWS allows aliases only on some operations. */
export type IdentifierForms = 'key' | 'key-or-alias';

/**
 * Resolves a key identifier (key id, key ARN, alias name, alias ARN) to the key record, with
 * AWS's errors: a malformed id is `Invalid keyId '<id>'`, an unknown key names its full ARN, an
 * unknown alias names the alias ARN.
 */
export async function resolveKey(service: Service, identifier: string, forms: IdentifierForms): Promise<KeyRecord> {
  return (await resolveKeyReference(service, identifier, forms)).key;
}

/** A resolved identifier: the key, and the alias name when the caller named the key by an alias. */
export interface KeyReference {
  readonly key: KeyRecord;
  readonly alias?: string;
}

export async function resolveKeyReference(service: Service, identifier: string, forms: IdentifierForms): Promise<KeyReference> {
  const { keyId, alias } = await resolveKeyId(service, identifier, forms);
  const stored = await service.store.getKey(keyId);
  if (!stored) throw new NotFoundException(`Key '${keyArn(service.realm, keyId)}' does not exist`);
  const key = effectiveKey(stored, service.now());
  return alias === undefined ? { key } : { key, alias };
}

async function resolveKeyId(service: Service, identifier: string, forms: IdentifierForms): Promise<{ keyId: string; alias?: string }> {
  const { realm } = service;
  let resource = identifier;
  if (identifier.startsWith('arn:')) {
    const arn = parseArn(identifier);
    // An empty Region is malformed, not another Region's: the message names the whole ARN.
    if (!arn || arn.service !== 'kms' || arn.region === '' || !/^(key|alias)\//.test(arn.resource)) {
      throw new NotFoundException(`Invalid arn ${identifier}`);
    }
    if (arn.region !== realm.region) throw new NotFoundException(`Invalid arn ${arn.region}`);
    if (arn.partition !== realm.partition || arn.accountId !== realm.accountId) {
      throw new NotFoundException(`${arn.resource.startsWith('alias/') ? 'Alias' : 'Key'} '${identifier}' does not exist`);
    }
    // A key ARN names a key id only: `key/alias/<name>` is not an alias ARN.
    if (arn.resource.startsWith('key/')) return { keyId: keyIdOf(arn.resource.slice('key/'.length), identifier) };
    // AWS answers an alias ARN where only a key is accepted (CreateGrant, for one) so.
    if (forms === 'key') throw new InvalidArnException('Key Aliases are not supported for this operation.');
    resource = arn.resource;
  }
  if (resource.startsWith('alias/')) {
    if (forms === 'key') throw new NotFoundException(`Invalid keyId '${identifier}'`);
    // A name no alias can have is not looked up: the store need not take any text (PostgreSQL
    // refuses a NUL character outright).
    const alias = isPossibleAliasName(resource) ? await service.store.getAlias(resource) : undefined;
    if (!alias) throw new NotFoundException(`Alias ${aliasArn(realm, resource)} is not found.`);
    return { keyId: alias.targetKeyId, alias: resource };
  }
  return { keyId: keyIdOf(resource, identifier) };
}

function keyIdOf(resource: string, identifier: string): string {
  if (!KEY_ID.test(resource)) throw new NotFoundException(`Invalid keyId '${identifier}'`);
  return resource;
}

/** The key id itself, for operations (CreateAlias) where even the lookup must not follow an alias. */
export function assertNotAlias(identifier: string): void {
  const resource = identifier.startsWith('arn:') ? (parseArn(identifier)?.resource ?? '') : identifier;
  if (resource.startsWith('alias/')) throw new ValidationException('Aliases must refer to keys. Not aliases');
}
