import { deletePrincipal } from './delete-principal.js';

/** `CofferAdmin.DeleteUser` {UserName} -> {}; the user's access keys and policies go with it. */
export const deleteUser = deletePrincipal('user');
