import { deletePrincipal } from './delete-principal.js';

/** `CofferAdmin.DeleteRole` {RoleName} -> {}; the role's access keys and policies go with it. */
export const deleteRole = deletePrincipal('role');
