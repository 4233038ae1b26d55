import { LimitExceededException, UnsupportedOperationException, ValidationException } from '../errors.js';
import type { Service } from '../context.js';
import { CUSTOMER_MASTER_KEY_SPECS, KEY_SPECS, KEY_USAGES, ORIGINS } from '../keys/enums.js';
import { MAX_DESCRIPTION_LENGTH, type KeyRecord } from '../keys/key-record.js';
import { keyMetadata } from '../keys/key-metadata.js';
import { checkRequestTags, mergeTags, requestTagContext } from '../keys/tags.js';
import { checkNewKeyPolicy } from '../access/key-policy-check.js';
import { keyArn } from '../keys/arn.js';
import { newKeyId } from '../keys/multi-region.js';
import { algorithmsOf, KEY_SPEC_TABLE } from '../keys/specs/index.js';
import { keyPolicyMember } from '../validate/members.js';
import { boolean, enumeration, parseShape, string, tags } from '../validate/shape.js';
import { customKeyStoreNotFound } from './custom-key-stores.js';
import type { Operation } from './operation.js';

const shape = {
  Policy: keyPolicyMember(),
  Description: string({ min: 0, max: MAX_DESCRIPTION_LENGTH }),
  KeyUsage: enumeration(KEY_USAGES),
  CustomerMasterKeySpec: enumeration(CUSTOMER_MASTER_KEY_SPECS),
  KeySpec: enumeration(KEY_SPECS),
  Origin: enumeration(ORIGINS),
  CustomKeyStoreId: string({ min: 1, max: 64 }),
  BypassPolicyLockoutSafetyCheck: boolean(),
  Tags: tags(),
  MultiRegion: boolean(),
  XksKeyId: string({ min: 1, max: 128, pattern: '^[a-zA-Z0-9-_.]+$' }),
};

export const createKey: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  if (input.KeySpec && input.CustomerMasterKeySpec) {
    throw new ValidationException('You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec parameter instead.');
  }
  const keySpec = input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
  if (keySpec !== 'SYMMETRIC_DEFAULT' && input.KeyUsage === undefined) {
    throw new ValidationException('You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.');
  }
  const keyUsage = input.KeyUsage ?? 'ENCRYPT_DECRYPT';
  if (keySpec !== 'SYMMETRIC_DEFAULT' && KEY_SPEC_TABLE[keySpec] === undefined) {
    throw new UnsupportedOperationException(`KeySpec ${keySpec} is not supported by this server.`);
  }
  if (algorithmsOf(keySpec, keyUsage).length === 0) {
    throw new ValidationException(`KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
  }
  // As AWS answers an account without custom key stores (README): every id names none here, and a
  // key asked for in one (Origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE with its store's id) meets that first.
  if (input.CustomKeyStoreId !== undefined) throw customKeyStoreNotFound(input.CustomKeyStoreId);
  const origin = input.Origin ?? 'AWS_KMS';
  if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') {
    throw new UnsupportedOperationException(`Origin ${origin} is not supported by this server; it supports AWS_KMS and EXTERNAL (custom key stores are not supported).`);
  }
  if (input.XksKeyId !== undefined) {
    throw new UnsupportedOperationException('Custom key stores are not supported by this server: CreateKey takes no XksKeyId.');
  }
  const multiRegion = input.MultiRegion === true;
  const requestTags = input.Tags ?? [];
  checkRequestTags(requestTags);
  await service.access.authorizeAccount(request, 'kms:CreateKey', '*', {
    'kms:keyspec': keySpec, 'kms:customermasterkeyspec': keySpec, 'kms:keyusage': keyUsage,
    'kms:customermasterkeyusage': keyUsage, 'kms:keyorigin': origin, 'kms:multiregion': multiRegion,
    ...(multiRegion ? { 'kms:multiregionkeytype': 'PRIMARY' } : {}),
    ...(input.BypassPolicyLockoutSafetyCheck !== undefined ? { 'kms:bypasspolicylockoutsafetycheck': input.BypassPolicyLockoutSafetyCheck } : {}),
    ...requestTagContext(requestTags),
  });
  // API reference, CreateKey: "To use the Tags parameter, kms:TagResource (IAM policy)", in a
  // permission "that isn't restricted to particular KMS keys": the resource is every key of the
  // account and Region, and AWS's refusal names none.
  if (requestTags.length > 0) {
    await service.access.authorizeAccount(request, 'kms:TagResource', keyArn(service.realm, '*'), requestTagContext(requestTags), { namesResource: false });
  }

  const now = service.now();
  const keyId = newKeyId(multiRegion);
  // A key of imported material (origin EXTERNAL) has no version until ImportKeyMaterial.
  const external = origin === 'EXTERNAL';
  let key: KeyRecord = {
    keyId,
    revision: 1,
    createdAt: now,
    description: input.Description ?? '',
    keySpec,
    keyUsage,
    origin,
    state: external ? 'PendingImport' : 'Enabled',
    tags: mergeTags([], requestTags),
    onDemandRotations: 0,
    currentVersion: external ? 0 : 1,
    ...(input.Policy !== undefined ? { policy: input.Policy, policySetAt: now } : {}),
  };
  if (input.Policy !== undefined) {
    const policyPrincipals = await checkNewKeyPolicy(service, request, input.Policy, key, input.BypassPolicyLockoutSafetyCheck === true);
    key = { ...key, policyPrincipals };
  }
  const material = keySpec === 'SYMMETRIC_DEFAULT' || external ? undefined : await KEY_SPEC_TABLE[keySpec]!.family.generate();
  const firstVersion = external ? undefined : await service.backingKeys.create(keyId, 1, now, undefined, material);
  request.audit.touchKey(keyArn(service.realm, keyId));
  // Counted and created in turn (on every node), as alias changes are: at once, each would count
  // the keys below the quota and together pass it.
  await service.store.serialize('keys', async () => {
    await assertKeyQuota(service);
    await request.audit.commit((event) => service.store.createKey(key, firstVersion, event));
  });
  return { KeyMetadata: keyMetadata(service.realm, key, firstVersion?.materialId) };
};

/**
 * AWS's resource quota of 100,000 KMS keys per account and Region, of every spec and state (AWS
 * KMS Developer Guide, "Resource quotas"). A Coffer server is one account and Region; its few AWS
 * managed keys count too, where AWS leaves them out.
 */
export const MAX_KEYS = 100_000;

async function assertKeyQuota(service: Service): Promise<void> {
  const usage = await service.store.countKeys();
  if (usage >= MAX_KEYS) {
    throw new LimitExceededException(`Keys per account quota for this account in this region is ${MAX_KEYS}, current usage is ${usage}.`);
  }
}
