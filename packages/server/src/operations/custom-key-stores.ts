import { CustomKeyStoreNotFoundException, excerpt, UnsupportedOperationException } from '../errors.js';
import { decodeMarker, limitMember, markerMember } from '../validate/members.js';
import { enumeration, parseShape, required, string } from '../validate/shape.js';
import type { Operation } from './operation.js';

/**
 * The custom key store operations. Coffer's keys are protected by its own root key (docs/root-keys.md),
 * never by an AWS CloudHSM cluster or an external key store proxy, so an account here has no custom
 * key store: the listing is empty, one named by id or name does not exist, and none can be made.
 * They are answered, as AWS answers an account without custom key stores, rather than left unknown,
 * so tools that look for custom key stores (or list everything an account has) work unchanged.
 */

const customKeyStoreId = () => string({ min: 1, max: 64 });
const customKeyStoreName = () => string({ min: 1, max: 256 });

const notFound = (id: string) => new CustomKeyStoreNotFoundException(`Custom key store '${excerpt(id, 64)}' does not exist in this account and Region.`);

export const describeCustomKeyStores: Operation = async (service, body, request) => {
  const input = parseShape(body, {
    CustomKeyStoreId: customKeyStoreId(), CustomKeyStoreName: customKeyStoreName(), Limit: limitMember(1000), Marker: markerMember(),
  });
  await service.access.authorizeAccount(request, 'kms:DescribeCustomKeyStores');
  // This listing never has a next page, so no marker is one it issued.
  decodeMarker('DescribeCustomKeyStores', input.Marker);
  const named = input.CustomKeyStoreId ?? input.CustomKeyStoreName;
  if (named !== undefined) throw notFound(named);
  return { CustomKeyStores: [], Truncated: false };
};

export const createCustomKeyStore: Operation = async (service, body, request) => {
  parseShape(body, {
    CustomKeyStoreName: required(customKeyStoreName()),
    CustomKeyStoreType: enumeration(['AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const),
  });
  await service.access.authorizeAccount(request, 'kms:CreateCustomKeyStore');
  throw new UnsupportedOperationException(
    'Custom key stores are not supported by this server: its keys are protected by its own root key (an HSM through PKCS#11 among the choices).');
};

/** Connect, Disconnect, Delete and UpdateCustomKeyStore: each names a custom key store, and none exists. */
function onCustomKeyStore(operation: string): Operation {
  const shape = { CustomKeyStoreId: required(customKeyStoreId()) };
  return async (service, body, request) => {
    const input = parseShape(body, shape);
    await service.access.authorizeAccount(request, `kms:${operation}`);
    throw notFound(input.CustomKeyStoreId);
  };
}

export const connectCustomKeyStore = onCustomKeyStore('ConnectCustomKeyStore');
export const disconnectCustomKeyStore = onCustomKeyStore('DisconnectCustomKeyStore');
export const deleteCustomKeyStore = onCustomKeyStore('DeleteCustomKeyStore');
export const updateCustomKeyStore = onCustomKeyStore('UpdateCustomKeyStore');
