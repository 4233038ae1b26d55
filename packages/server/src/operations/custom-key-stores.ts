import { CustomKeyStoreNotFoundException, excerpt, SerializationException, UnsupportedOperationException } from '../errors.js';
import { decodeMarker, limitMember, markerMember } from '../validate/members.js';
import { enumeration, parseShape, required, string, type Member } from '../validate/shape.js';
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

/**
 * The settings CreateCustomKeyStore and UpdateCustomKeyStore take, with the limits of AWS's model.
 * They are checked although no store is ever made or found: AWS checks a request's shape before
 * anything else, so a malformed request is a ValidationException there, whatever the account has.
 * The password and the proxy credential are never shown in a message.
 */
const storeSettings = () => ({
  CloudHsmClusterId: string({ min: 19, max: 24, pattern: 'cluster-[2-7a-zA-Z]{11,16}' }),
  KeyStorePassword: string({ min: 7, max: 32, sensitive: true }),
  XksProxyUriEndpoint: string({ min: 10, max: 128, pattern: '^https://[a-zA-Z0-9.-]+$' }),
  XksProxyUriPath: string({ min: 10, max: 128, pattern: '^(/[a-zA-Z0-9\\/_-]+/kms/xks/v\\d{1,2})$|^(/kms/xks/v\\d{1,2})$' }),
  XksProxyVpcEndpointServiceName: string({ min: 20, max: 64, pattern: '^(com|eu)\\.amazonaws\\.vpce\\.([a-z]+-){2,3}\\d+\\.vpce-svc-[0-9a-z]+$' }),
  XksProxyVpcEndpointServiceOwner: string({ min: 12, max: 12, pattern: '[0-9]{12}' }),
  XksProxyAuthenticationCredential: xksProxyCredentialMember(),
  XksProxyConnectivity: enumeration(['PUBLIC_ENDPOINT', 'VPC_ENDPOINT_SERVICE'] as const),
});

/** AWS's XksProxyAuthenticationCredentialType: both members required, both secret. */
function xksProxyCredentialMember(): Member<unknown> {
  const accessKeyId = required(string({ min: 20, max: 30, pattern: '^[A-Z2-7]+$', sensitive: true }));
  const rawSecretAccessKey = required(string({ min: 43, max: 64, pattern: '^[a-zA-Z0-9\\/+=]+$', sensitive: true }));
  return {
    parse(value, path, violations) {
      if (value === undefined) return undefined;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new SerializationException(`Expected an object for member '${path}'`);
      }
      const credential = value as Record<string, unknown>;
      accessKeyId.parse(credential.AccessKeyId ?? undefined, `${path}.accessKeyId`, violations);
      rawSecretAccessKey.parse(credential.RawSecretAccessKey ?? undefined, `${path}.rawSecretAccessKey`, violations);
      return value;
    },
  };
}

/** AWS's answer to a custom key store named by id in an account that has none, as every account here. */
export const customKeyStoreNotFound = (id: string) => new CustomKeyStoreNotFoundException(`Custom key store '${excerpt(id, 64)}' does not exist in this account and Region.`);

export const describeCustomKeyStores: Operation = async (service, body, request) => {
  const input = parseShape(body, {
    CustomKeyStoreId: customKeyStoreId(), CustomKeyStoreName: customKeyStoreName(), Limit: limitMember(1000), Marker: markerMember(),
  });
  await service.access.authorizeAccount(request, 'kms:DescribeCustomKeyStores');
  // This listing never has a next page, so no marker is one it issued.
  decodeMarker('DescribeCustomKeyStores', input.Marker);
  const named = input.CustomKeyStoreId ?? input.CustomKeyStoreName;
  if (named !== undefined) throw customKeyStoreNotFound(named);
  return { CustomKeyStores: [], Truncated: false };
};

export const createCustomKeyStore: Operation = async (service, body, request) => {
  parseShape(body, {
    CustomKeyStoreName: required(customKeyStoreName()),
    TrustAnchorCertificate: string({ min: 1, max: 5000 }),
    CustomKeyStoreType: enumeration(['AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const),
    ...storeSettings(),
  });
  await service.access.authorizeAccount(request, 'kms:CreateCustomKeyStore');
  throw new UnsupportedOperationException(
    'Custom key stores are not supported by this server: its keys are protected by its own root key (an HSM through PKCS#11 among the choices).');
};

/** Connect, Disconnect, Delete and UpdateCustomKeyStore: each names a custom key store, and none exists. */
function onCustomKeyStore(operation: string, settings: Record<string, Member<unknown>> = {}): Operation {
  const shape = { CustomKeyStoreId: required(customKeyStoreId()), ...settings };
  return async (service, body, request) => {
    const input = parseShape(body, shape);
    await service.access.authorizeAccount(request, `kms:${operation}`);
    throw customKeyStoreNotFound(input.CustomKeyStoreId);
  };
}

export const connectCustomKeyStore = onCustomKeyStore('ConnectCustomKeyStore');
export const disconnectCustomKeyStore = onCustomKeyStore('DisconnectCustomKeyStore');
export const deleteCustomKeyStore = onCustomKeyStore('DeleteCustomKeyStore');
export const updateCustomKeyStore = onCustomKeyStore('UpdateCustomKeyStore', { NewCustomKeyStoreName: customKeyStoreName(), ...storeSettings() });
