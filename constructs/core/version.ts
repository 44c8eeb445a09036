import { PACKAGE_VERSION } from './package-root';

/** The version of the kit, as in its package.json. */
export const KIT_VERSION: string = PACKAGE_VERSION;
