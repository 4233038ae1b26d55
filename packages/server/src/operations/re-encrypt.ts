import type { RequestContext, Service } from '../context.js';
import { NotFoundException } from '../errors.js';
import { ENCRYPTION_ALGORITHMS, type EncryptionAlgorithm } from '../keys/enums.js';
import { keyArn } from '../keys/arn.js';
import { isRsaEncryptionKey, sealWithRsaKey } from '../keys/asymmetric.js';
import type { KeyRecord } from '../keys/key-record.js';
import { resolveKeyReference, type KeyReference } from '../keys/resolve.js';
import { assertEnabled } from '../keys/states.js';
import { assertSymmetricEncryption, openWithKey, sealWithKey } from '../keys/symmetric.js';
import {
  checkDryRun, ciphertextMember, dryRunMember, dryRunModifiersMember, encryptionContextMember, grantTokensMember, ignoresCiphertext, keyIdMember,
  optionalKeyIdMember, requireCiphertext,
} from '../validate/members.js';
import { enumeration, parseShape } from '../validate/shape.js';
import { namesRsaCiphertext, openAsymmetric } from './decrypt-asymmetric.js';
import { keyOfCiphertext } from './decrypt.js';
import type { Operation } from './operation.js';

const shape = {
  CiphertextBlob: ciphertextMember(),
  SourceEncryptionContext: encryptionContextMember(),
  SourceKeyId: optionalKeyIdMember(),
  DestinationKeyId: keyIdMember(),
  DestinationEncryptionContext: encryptionContextMember(),
  SourceEncryptionAlgorithm: enumeration(ENCRYPTION_ALGORITHMS),
  DestinationEncryptionAlgorithm: enumeration(ENCRYPTION_ALGORITHMS),
  GrantTokens: grantTokensMember(),
  DryRun: dryRunMember(),
  DryRunModifiers: dryRunModifiersMember(),
};

/**
 * Decrypts and encrypts again inside the server: the plaintext never leaves it. Moves a
 * ciphertext to the destination key's newest version, which is how rotation reaches old data.
 * Either side may be an RSA key, as in AWS: a raw RSAES-OAEP source is named by SourceKeyId with
 * its SourceEncryptionAlgorithm (as Decrypt takes it), and an RSA destination needs its
 * DestinationEncryptionAlgorithm and takes no encryption context.
 */
export const reEncrypt: Operation = async (service, body, request) => {
  const parsed = parseShape(body, shape);
  // Both sides of the request read the destination (kms:ReEncryptOnSameKey, then ReEncryptTo): looked up once.
  let resolved: Promise<KeyReference> | undefined;
  const destinationRef: Destination = () => (resolved ??= resolveKeyReference(service, parsed.DestinationKeyId, 'key-or-alias'));
  if (ignoresCiphertext(parsed)) {
    const { key, alias } = await keyOfCiphertext(service, parsed.SourceKeyId, parsed.CiphertextBlob);
    await service.access.authorizeKey(request, {
      action: 'kms:ReEncryptFrom', grantOperation: 'ReEncryptFrom', key, requestAlias: alias, keyFromCiphertext: parsed.SourceKeyId === undefined,
      encryptionContext: parsed.SourceEncryptionContext, grantTokens: parsed.GrantTokens,
      context: { 'kms:encryptionalgorithm': parsed.SourceEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT', 'kms:reencryptonsamekey': await isDestination(destinationRef, key.keyId) },
    });
    await authorizeDestination(service, request, parsed, destinationRef, key);
    checkDryRun(true);
  }
  const input: Input = { ...parsed, CiphertextBlob: requireCiphertext(parsed.CiphertextBlob) };
  const source = await openSource(service, request, input, destinationRef);
  try {
    const destination = await authorizeDestination(service, request, input, destinationRef, source.key);
    const sealed = await sealForDestination(service, destination, source.plaintext, input);
    checkDryRun(input.DryRun);
    if (sealed.materialId !== undefined) request.audit.addEventData('destinationKeyMaterialId', sealed.materialId);
    if (source.materialId !== undefined) request.audit.addEventData('sourceKeyMaterialId', source.materialId);
    return {
      CiphertextBlob: sealed.ciphertext.toString('base64'),
      SourceKeyId: keyArn(service.realm, source.key.keyId),
      KeyId: keyArn(service.realm, destination.keyId),
      SourceEncryptionAlgorithm: source.algorithm,
      DestinationEncryptionAlgorithm: sealed.algorithm,
      // Key material ids name symmetric keys' versions; an RSA key has one material.
      ...(source.materialId !== undefined ? { SourceKeyMaterialId: source.materialId } : {}),
      ...(sealed.materialId !== undefined ? { DestinationKeyMaterialId: sealed.materialId } : {}),
    };
  } finally {
    source.plaintext.fill(0);
  }
};

type Parsed = ReturnType<typeof parseShape<typeof shape>>;
/** The request once it is known to carry a ciphertext. */
type Input = Parsed & { readonly CiphertextBlob: Buffer };
/** The request's DestinationKeyId, resolved on first use. */
type Destination = () => Promise<KeyReference>;

/** The destination key, with the caller allowed kms:ReEncryptTo on it. */
async function authorizeDestination(service: Service, request: RequestContext, input: Parsed, destinationRef: Destination, source: KeyRecord): Promise<KeyRecord> {
  const { key: destination, alias } = await destinationRef();
  await service.access.authorizeKey(request, {
    action: 'kms:ReEncryptTo', key: destination, grantOperation: 'ReEncryptTo', requestAlias: alias,
    encryptionContext: input.DestinationEncryptionContext, grantTokens: input.GrantTokens,
    context: {
      'kms:encryptionalgorithm': input.DestinationEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
      'kms:reencryptonsamekey': destination.keyId === source.keyId,
    },
  });
  return destination;
}

/**
 * kms:ReEncryptOnSameKey as the source side sees it: whether the destination the request names is
 * the source key. Both sides of one request see the same value, so AWS's example statement
 * (`kms:ReEncrypt*` allowed when it is true) allows ReEncryptFrom as well as ReEncryptTo. A source
 * or destination that does not resolve is not the same key; its NotFoundException comes in its turn.
 */
async function isDestination(destinationRef: Destination, sourceKeyId: string): Promise<boolean> {
  try {
    return (await destinationRef()).key.keyId === sourceKeyId;
  } catch (e) {
    if (e instanceof NotFoundException) return false;
    throw e;
  }
}

/** The same for a source named by its identifier (a raw RSA ciphertext names no key), which may be an alias. */
async function sameKeyAs(service: Service, sourceId: string, destinationRef: Destination): Promise<boolean> {
  try {
    return await isDestination(destinationRef, (await resolveKeyReference(service, sourceId, 'key-or-alias')).key.keyId);
  } catch (e) {
    if (e instanceof NotFoundException) return false;
    throw e;
  }
}

interface Opened {
  readonly key: KeyRecord;
  readonly plaintext: Buffer;
  readonly algorithm: EncryptionAlgorithm;
  readonly materialId?: string;
}

/** The ciphertext opened, with the caller allowed kms:ReEncryptFrom on its key. */
async function openSource(service: Service, request: RequestContext, input: Input, destinationRef: Destination): Promise<Opened> {
  const from = { action: 'kms:ReEncryptFrom', grantOperation: 'ReEncryptFrom' } as const;
  if (input.SourceKeyId !== undefined && namesRsaCiphertext(input.SourceKeyId, input.SourceEncryptionAlgorithm)) {
    return openAsymmetric(service, request, {
      CiphertextBlob: input.CiphertextBlob, EncryptionContext: input.SourceEncryptionContext, GrantTokens: input.GrantTokens,
      KeyId: input.SourceKeyId, EncryptionAlgorithm: input.SourceEncryptionAlgorithm,
    }, { ...from, operation: 'ReEncrypt', context: { 'kms:reencryptonsamekey': await sameKeyAs(service, input.SourceKeyId, destinationRef) } });
  }
  const opened = await openWithKey(service, input.CiphertextBlob, input.SourceEncryptionContext, {
    ...(input.SourceKeyId !== undefined ? { keyId: input.SourceKeyId } : {}),
    operation: 'ReEncrypt',
    ...(input.SourceEncryptionAlgorithm !== undefined ? { algorithm: input.SourceEncryptionAlgorithm } : {}),
    named: (key) => request.audit.touchKey(keyArn(service.realm, key.keyId)),
    authorize: async (key, requestAlias) => service.access.authorizeKey(request, {
      ...from, key, requestAlias, keyFromCiphertext: input.SourceKeyId === undefined,
      encryptionContext: input.SourceEncryptionContext, grantTokens: input.GrantTokens,
      context: { 'kms:encryptionalgorithm': input.SourceEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT', 'kms:reencryptonsamekey': await isDestination(destinationRef, key.keyId) },
    }),
  });
  return { ...opened, algorithm: 'SYMMETRIC_DEFAULT' };
}

/** The plaintext encrypted under the destination key: a symmetric blob, or raw RSAES-OAEP. */
async function sealForDestination(
  service: Service, destination: KeyRecord, plaintext: Buffer, input: Input,
): Promise<{ ciphertext: Buffer; algorithm: EncryptionAlgorithm; materialId?: string }> {
  if (isRsaEncryptionKey(destination)) {
    return sealWithRsaKey(service, destination, input.DestinationEncryptionAlgorithm, input.DestinationEncryptionContext, plaintext);
  }
  assertSymmetricEncryption(service, destination, 'ReEncrypt', input.DestinationEncryptionAlgorithm);
  assertEnabled(service.realm, destination);
  const sealed = await sealWithKey(service, destination, plaintext, input.DestinationEncryptionContext);
  return { ciphertext: sealed.ciphertext, algorithm: 'SYMMETRIC_DEFAULT', materialId: sealed.materialId };
}
