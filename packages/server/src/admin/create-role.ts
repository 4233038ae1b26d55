import { createPrincipal } from './create-principal.js';

/** `CofferAdmin.CreateRole` {RoleName} -> {Role: {RoleName, RoleId, Arn, CreateDate}} */
export const createRole = createPrincipal('role');
